# syntax=docker/dockerfile:1
# Portcullis: a static binary on a distroless, non-root base.
#   docker build --build-arg VERSION=$(git describe --tags --always) -t portcullis .
# BuildKit cross-compiles for --platform on the build host's architecture.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -tags vtprotobuf -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/portcullis ./cmd/portcullis

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/portcullis /portcullis
USER 65532:65532
# gRPC ext_authz; admin HTTP (/healthz, /readyz, /metrics).
EXPOSE 50051 8181
ENTRYPOINT ["/portcullis"]
CMD ["serve"]
