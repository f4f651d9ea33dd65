// A ws WebSocket class that counts the messages the application sends. The gateway's
// WebSocketServer creates every socket from this class (the `WebSocket` option of ws 8).
import { WebSocket } from 'ws';
import { websocketMessage } from './metrics.js';

type MessageData = Parameters<WebSocket['send']>[0];
type SendCallback = (err?: Error) => void;
interface SendOptions {
  mask?: boolean;
  binary?: boolean;
  compress?: boolean;
  fin?: boolean;
}

export class MeteredWebSocket extends WebSocket {
  override send(data: MessageData, cb?: SendCallback): void;
  override send(data: MessageData, options: SendOptions, cb?: SendCallback): void;
  override send(data: MessageData, optionsOrCallback?: SendOptions | SendCallback, cb?: SendCallback): void {
    // A fragmented message is sent as several calls with fin: false before the last; it counts once.
    if (typeof optionsOrCallback !== 'object' || optionsOrCallback.fin !== false) websocketMessage('sent');
    if (typeof optionsOrCallback === 'object') super.send(data, optionsOrCallback, cb);
    else super.send(data, optionsOrCallback);
  }
}
