# edabench for docker-compose.yml: the target binary (every service of both
# twins) and the harness, on Debian like the development machines.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -o /out/target ./targets/cmd/target \
 && CGO_ENABLED=0 go build -o /out/edabench ./harness/cmd/edabench

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/target /out/edabench /usr/local/bin/
COPY scenarios /edabench/scenarios
WORKDIR /edabench
ENTRYPOINT []
CMD ["edabench", "help"]
