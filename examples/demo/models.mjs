// The demo's two models, written as raw pickle bytes (no Python needed to make them).
// Both are protocol-2 pickles, the format torch.save and pickle.dump write by default.

const latin1 = (s) => Buffer.from(s, 'latin1');

function binfloat(x) {
  const b = Buffer.alloc(9);
  b[0] = 0x47; // BINFLOAT, big-endian IEEE 754 double
  b.writeDoubleBE(x, 1);
  return b;
}

function binunicode(s) {
  const body = Buffer.from(s, 'utf8');
  const head = Buffer.alloc(5);
  head[0] = 0x58; // BINUNICODE, 4-byte little-endian length
  head.writeUInt32LE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** collections.OrderedDict([('weight', [0.5, -1.25]), ('bias', [0.125])]): a tiny state dict. */
export function benignModel() {
  return Buffer.concat([
    latin1('\x80\x02ccollections\nOrderedDict\n)R('), // PROTO 2, GLOBAL, EMPTY_TUPLE, REDUCE, MARK
    binunicode('weight'),
    latin1('](' ), binfloat(0.5), binfloat(-1.25), latin1('e'), // EMPTY_LIST MARK floats APPENDS
    binunicode('bias'),
    latin1('](' ), binfloat(0.125), latin1('e'),
    latin1('u.'), // SETITEMS STOP
  ]);
}

/** os.system(command) on load: the classic malicious pickle. */
export function maliciousModel(command) {
  if (command.includes("'") || command.includes('\n')) throw new Error('keep the demo command simple');
  return latin1(`\x80\x02cos\nsystem\n(S'${command}'\ntR.`);
}
