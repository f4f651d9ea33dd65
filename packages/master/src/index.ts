export { Master, type MasterState } from './master.js';
export { Admission, type RejectReason } from './admission.js';
export { main } from './cli.js';
export { statusSnapshot, type ClusterStatus, type WorkerStatus, type ReloadStatus } from './status.js';
// Application helpers; they run in the worker, which loads the application.
export {
  readBody,
  stream,
  bufferedBytes,
  BodyTooLargeError,
  BodyAbortedError,
  StreamClosedError,
  type ReadBodyOptions,
  type HttpRequest,
  type HttpResponse,
  type RequestHandler,
  type WebSocketHandler,
} from '@aerys-cluster/worker';
