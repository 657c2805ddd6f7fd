export { CertificateError, loadCertificate, loadPublicKeys, PUBLIC_SUFFIX, SECRET_SUFFIX, type Certificate, type SecretCertificate } from './certificate.js';
export { KeysError, writeKeyPair, type WrittenPair } from './keys.js';
