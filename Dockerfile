# ferry's container image: Node 20 slim, `npm ci`, runs as a non-root user (uid 10001) from a
# root filesystem it never writes (Kubernetes: readOnlyRootFilesystem), serving the bundled
# Fashion-MNIST model on 0.0.0.0:8080 unless told otherwise:
#
#   docker build -t ferry:0.1.0 .
#   docker run --rm -p 8080:8080 ferry:0.1.0
#   docker run --rm -p 8080:8080 -v $PWD/models:/mnt/models:ro ferry:0.1.0 serve --model-repository=/mnt/models --host=0.0.0.0 --http-port=8080
#
# GPU: --build-arg ORT_INSTALL=cuda12 has onnxruntime-node fetch its CUDA provider while npm ci
# runs, and BASE must then be an image with Node 20 and CUDA 12 / cuDNN 9 libraries.
ARG BASE=node:20-slim

FROM ${BASE} AS build
ARG ORT_INSTALL=skip
WORKDIR /app
COPY package.json package-lock.json .npmrc tsconfig.json ./
COPY src ./src
# npm ci installs exactly the lock file and builds dist/ (the `prepare` script); then the
# compiler and test-only packages go.
RUN npm ci --no-audit --no-fund --onnxruntime-node-install=${ORT_INSTALL} \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${BASE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY data ./data
COPY examples/fashion ./examples/fashion
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:8080/v2/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["serve", "--host=0.0.0.0", "--http-port=8080"]
