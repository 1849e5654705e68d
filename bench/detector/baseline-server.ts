// The ingest baseline, the floor for the detector's pipeline: the same HTTP server (fastify, same body handling)
// answering after JSON parse and schema validation with the detector's own zod schemas, storing nothing.
// Run as a process: `node bench/detector/baseline-server.ts PORT`; prints its URL when listening.
import Fastify from "fastify";
import { defaultIngestBodyLimitBytes } from "../../detector/detector.ts";
import { ingestFormats } from "../../detector/ingest/formats.ts";
import { ingestPathPrefix } from "../../detector/ingest/ingestRoutes.ts";

const port = Number(process.argv[2] ?? 0);
const app = Fastify({ logger: false, requestTimeout: 60_000 });
void app.register((scope, _opts, done) => {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser("*", { parseAs: "string", bodyLimit: defaultIngestBodyLimitBytes }, (_req, b, parsed) => parsed(null, b));
  for (const [name, format] of Object.entries(ingestFormats)) {
    scope.post(`${ingestPathPrefix}${name}`, { bodyLimit: defaultIngestBodyLimitBytes }, async (req, reply) => {
      const batch = format.records(typeof req.body === "string" ? req.body : "");
      let invalid = batch.issues.length;
      for (const record of batch.records) if (!format.schema.safeParse(record).success) invalid++;
      if (invalid > 0) return reply.code(400).send({ error: "invalid batch", invalid });
      return { accepted: batch.records.length };
    });
  }
  done();
});
await app.listen({ host: "127.0.0.1", port });
const address = app.server.address();
console.log(`http://127.0.0.1:${typeof address === "object" && address ? address.port : port}`);
process.on("SIGTERM", () => void app.close().then(() => process.exit(0)));
