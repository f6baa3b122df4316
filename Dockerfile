# The oO mesh image: the `oo` executable on Debian 12 with the libraries it links.
# compose.yaml runs one service per container from it.
FROM swift:6.1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
        libnghttp2-dev libssl-dev zlib1g-dev libsqlite3-dev pkg-config && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources Sources
COPY Generated Generated
RUN swift build -c release --product oo --static-swift-stdlib

FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
        libnghttp2-14 libssl3 zlib1g libsqlite3-0 tzdata ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/.build/release/oo /usr/local/bin/oo
VOLUME /data
ENTRYPOINT []
