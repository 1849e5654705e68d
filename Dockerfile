# syntax=docker/dockerfile:1
# One image for the operator, the detector and the console: `minixdr operator|detector|console` (bin/minixdr.ts).
# Node 24 runs the TypeScript sources directly (type stripping): there is no build step and no dev dependency inside.
#   docker build -t ghcr.io/minixdr/minixdr:0.1.0 .
ARG NODE_IMAGE=node:24-bookworm-slim

# Stage 1: production dependencies only. --ignore-scripts: onnxruntime-node's CPU binaries ship in its package
# (its install script only downloads GPU extras; .npmrc skips it too), and no other production package has one.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
# onnxruntime-node ships its native library for every platform (about 220 of its 290 MB): keep the one this image runs
# on (Docker's TARGETARCH amd64 or arm64; the package names them x64 and arm64).
ARG TARGETARCH
RUN keep="linux/$([ "${TARGETARCH:-amd64}" = arm64 ] && echo arm64 || echo x64)" \
 && cd node_modules/onnxruntime-node/bin/napi-v6 \
 && for d in */*; do [ "$d" = "$keep" ] || rm -rf "$d"; done \
 && test -e "$keep/onnxruntime_binding.node"

# Stage 2: the runtime. Sources come from the build context, which .dockerignore limits to what runs
# (bin/, operator/, detector/ with the ONNX model, console/, crds/, package.json): no tests, no tooling.
FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="minixdr" \
      org.opencontainers.image.description="Mini-XDR: Kubernetes operator, security event detector and analysts' console in one image" \
      org.opencontainers.image.source="https://github.com/minixdr/minixdr-operator" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
# ORT_DISABLE_TELEMETRY: onnxruntime-node would look up a Microsoft telemetry host at every start (the detector also
# sets it itself, detector/ml/onnxRuntimeTelemetry.ts).
ENV NODE_ENV=production ORT_DISABLE_TELEMETRY=1
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY . .
# The model the detector loads by default (docs/contracts.md: model.path /app/detector/ml/model.onnx).
COPY detector/ml/model.onnx detector/ml/model-metadata.json ./detector/ml/
# Files stay root-owned and read-only to the process: the pods run with readOnlyRootFilesystem.
USER 1000:1000
EXPOSE 8080 9090
ENTRYPOINT ["node", "bin/minixdr.ts"]
CMD ["operator"]
