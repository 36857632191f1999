# One image for the API, the worker and the CLI (docker-compose.yml picks the command).
# Build stage: compile TypeScript to dist/; runtime: compiled JavaScript and production
# dependencies only (the browser client's sources stay: they are bundled on first request).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app /app
USER node
EXPOSE 3000
# A bounded old space: V8 collects instead of growing lazily on a large host (bench/RESULTS.md, P7).
ENV NODE_OPTIONS=--max-old-space-size=160
CMD ["node", "dist/services/api/src/main.js"]
