# Parley on Bun. Build: `fly deploy` (or `docker build -t parley .`).
# Dependencies are installed with npm from the lockfile (`npm ci`) on the same Debian base as the runtime image, so
# the native @node-rs/argon2 binary matches; the app then runs under Bun as a non-root user.
ARG BUN_VERSION=1.4.5
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY client-sdk/package.json client-sdk/package.json
# postinstall patches postgres.js (see scripts/patch-postgres.mjs), so the script must be there before install.
COPY scripts ./scripts
# Exactly the lockfile, production dependencies only: bun, deno, vitest, eslint and drizzle-kit are development
# tools, and the client SDK workspace is not part of the server. npm still installs type declarations as peers of
# @trpc/* and drizzle-orm (typescript, bun-types, @types/*): nothing imports them at run time, so they go, along with
# the empty directories npm leaves for the scopes it omitted.
RUN npm ci --omit=dev --workspaces=false --no-audit --no-fund \
 && rm -rf node_modules/typescript node_modules/bun-types node_modules/@types node_modules/undici-types \
 && find node_modules -mindepth 1 -maxdepth 1 -type d -empty -delete

# The web app (web/), served by Parley at /: built here with the SDK it imports (whose declarations come from the
# server's contract, hence src/ and the tsconfigs), from the same lockfile. Scripts are skipped: the root prepare
# step would build the same two things, and postinstall patches a package this stage does not run.
FROM node:${NODE_VERSION}-bookworm-slim AS web
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.contract.json ./
COPY client-sdk ./client-sdk
COPY examples/react-chat/package.json examples/react-chat/package.json
COPY web ./web
COPY src ./src
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && NODE_ENV=production npm run build:sdk \
 && NODE_ENV=production npm run build:web

FROM oven/bun:${BUN_VERSION}-slim AS release
WORKDIR /app
ENV NODE_ENV=production \
    HOST=:: \
    PORT=8080 \
    DATA_DIR=/app/.data
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY drizzle ./drizzle
# Where src/config.ts looks by default (WEB_DIST_DIR): ../web/dist from src/.
COPY --from=web /app/web/dist ./web/dist
RUN mkdir -p /app/.data && chown -R bun:bun /app/.data
USER bun
EXPOSE 8080
# `bun src/runtime/bun.ts` — the same entry as `npm start`; Fly's release_command runs migrations first.
CMD ["bun", "src/runtime/bun.ts"]
