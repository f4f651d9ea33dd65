// The same application on a plain Node.js server, as it ran before aerys-cluster.
import app from './app.mjs';

app.listen(3000, '127.0.0.1', () => console.log('listening on http://127.0.0.1:3000'));
