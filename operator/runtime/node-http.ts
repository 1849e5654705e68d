// node:http without its ES module namespace. `import { request } from "node:http"` builds the namespace of every
// export, which reads http's lazy WebSocket/MessageEvent getters and loads Node's bundled undici: ~13 MB of resident
// memory and 2 MB of heap in a process that never uses them. The CommonJS module object reads nothing until asked.
export const http = process.getBuiltinModule("node:http");
