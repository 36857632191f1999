# One image for the API and the worker; docker-compose.yml picks the command.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY tsconfig.json ./
COPY shared ./shared
COPY services ./services
COPY workers ./workers
COPY migrations ./migrations
USER node
EXPOSE 3000
CMD ["node_modules/.bin/tsx", "services/api/src/main.ts"]
