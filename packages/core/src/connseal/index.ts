export {
  CONNECTION_ENVELOPE_AAD,
  type ConnectionEnvelope,
  MIN_ITERATIONS,
  openConnection,
  sealConnection,
} from './envelope.js';
