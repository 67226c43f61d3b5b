'use strict';
// Registers a passkey and signs in with it, as Guardian's sign-in page will,
// and writes the outcome into #result for the Go test to read.
(async () => {
  const result = document.getElementById('result');
  try {
    const random = (n) => crypto.getRandomValues(new Uint8Array(n));
    const created = await navigator.credentials.create({publicKey: {
      rp: {name: 'Guardian test', id: location.hostname},
      user: {id: random(16), name: 'analyst@example.com', displayName: 'Test Analyst'},
      challenge: random(32),
      pubKeyCredParams: [{type: 'public-key', alg: -7}, {type: 'public-key', alg: -257}],
      authenticatorSelection: {residentKey: 'required', userVerification: 'required'},
      timeout: 10000,
    }});
    const got = await navigator.credentials.get({publicKey: {
      rpId: location.hostname,
      challenge: random(32),
      allowCredentials: [{type: 'public-key', id: created.rawId}],
      userVerification: 'required',
      timeout: 10000,
    }});
    // authenticatorData byte 32 holds the flags: 0x01 user present,
    // 0x04 user verified.
    const flags = new Uint8Array(got.response.authenticatorData)[32];
    const same = got.id === created.id;
    result.textContent = 'ok created=' + created.type + ' same=' + same +
      ' up=' + ((flags & 1) !== 0) + ' uv=' + ((flags & 4) !== 0);
  } catch (e) {
    result.textContent = 'error ' + e.name + ': ' + e.message;
  }
})();
