# syntax=docker/dockerfile:1
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
# The server builds against ./client through a replace directive.
COPY client/go.mod client/
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/totp .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/totp /totp
USER nonroot:nonroot
# Every interface, which needs API keys: -e API_KEYS="NAME SCOPES KEY,..."
# or -e API_KEYS_FILE=/run/secrets/totp-keys (NAME SCOPES KEY a line).
ENV ADDR=:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/totp", "healthcheck"]
ENTRYPOINT ["/totp"]
