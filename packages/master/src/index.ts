export { Master, type MasterState } from './master.js';
export { Admission, type RejectReason } from './admission.js';
export { main } from './cli.js';
export { statusSnapshot, type ClusterStatus, type WorkerStatus, type ReloadStatus } from './status.js';
