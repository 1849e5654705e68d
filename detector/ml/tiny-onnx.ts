/**
 * Hand-encodes a one-node Identity ONNX model, so tests can load valid models with the wrong
 * signature without a Python toolchain. Only the protobuf fields ONNX Runtime needs are written.
 */

type Dim = number | string;

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function field(num: number, value: number[] | string | number): number[] {
  if (typeof value === "number") return [...varint(num << 3), ...varint(value)];
  const bytes = typeof value === "string" ? [...Buffer.from(value, "utf8")] : value;
  return [...varint((num << 3) | 2), ...varint(bytes.length), ...bytes];
}

const FLOAT = 1;

function valueInfo(name: string, shape: readonly Dim[]): number[] {
  const dims = shape.flatMap((d) => field(1, typeof d === "number" ? field(1, d) : field(2, d)));
  const tensorType = [...field(1, FLOAT), ...field(2, dims)];
  return [...field(1, name), ...field(2, field(1, tensorType))];
}

export function identityModel(input: string, output: string, shape: readonly Dim[]): Uint8Array {
  const node = [...field(1, input), ...field(2, output), ...field(4, "Identity")];
  const graph = [...field(1, node), ...field(2, "g"), ...field(11, valueInfo(input, shape)), ...field(12, valueInfo(output, shape))];
  const opset = [...field(1, ""), ...field(2, 17)];
  return new Uint8Array([...field(1, 8), ...field(7, graph), ...field(8, opset)]);
}
