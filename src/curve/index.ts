export { CertificateError, loadCertificate, loadPublicKeys, PUBLIC_SUFFIX, SECRET_SUFFIX, type Certificate, type SecretCertificate } from './certificate.js';
export { KeysError, writeKeyPair, type WrittenPair } from './keys.js';
export { curveSchema, type CurveSettings, type CurveSetting } from './settings.js';
export { CurveError } from './errors.js';
export { FabricSecurity, reopenRetrying, setForNextConnect, type CurveClientKeys, type PeerClass, type ServerSocket } from './fabric.js';
export { registerCurveMetrics } from './metrics.js';
