import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { clientKeyPair } from '../../src/guest/rootfs.ts';

// A private key ssh2 1.17 generated and then could not read back: its ed25519 public key lost
// its leading zero byte (31 bytes, "AAAAH" below), about one key in 600.
const malformed = [
  '-----BEGIN OPENSSH PRIVATE KEY-----',
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMgAAAAtz',
  'c2gtZWQyNTUxOQAAAB+ybPQ1u2EPu1q6EUQXS72xIVkJCcR3dOPQL0219oM3AAAA',
  'iLiBw8S4gcPEAAAAC3NzaC1lZDI1NTE5AAAAH7Js9DW7YQ+7WroRRBdLvbEhWQkJ',
  'xHd049AvTbX2gzcAAAA/oaB9670qKjuIyepLRRfnZXdr09/RxYBXBsOEASP85XSy',
  'bPQ1u2EPu1q6EUQXS72xIVkJCcR3dOPQL0219oM3AAAAAAECAwQFBgc=',
  '-----END OPENSSH PRIVATE KEY-----',
].join('\n');

describe('clientKeyPair', () => {
  it('generates again a pair whose private key ssh2 cannot read back', () => {
    expect(ssh2.utils.parseKey(malformed)).toBeInstanceOf(Error);
    const good = ssh2.utils.generateKeyPairSync('ed25519');
    const pairs = [{ private: malformed, public: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAH7Js' }, good];
    expect(clientKeyPair(() => pairs.shift() ?? good)).toBe(good);
  });

  it('gives keys ssh2 reads, every one of 2000', () => {
    for (let i = 0; i < 2000; i++) expect(ssh2.utils.parseKey(clientKeyPair().private)).not.toBeInstanceOf(Error);
  });
});
