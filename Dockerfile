# chatbot: one static binary on a minimal, non-root base.
#   docker build -t chatbot .
#   docker run -d -p 8080:8080 -v chatbot-data:/data -e CHATBOT_ADMIN_TOKEN=... chatbot
# docker-compose.yml runs it with Ollama beside it.

FROM golang:1.26-alpine AS build
WORKDIR /src
# Modules first: a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/chatbot/chatbot/cmd.version=${VERSION}" -o /out/chatbot . \
 && mkdir -p /out/data

# distroless/static: no shell, no package manager, CA certificates and
# tzdata only; "nonroot" is uid/gid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/chatbot /usr/local/bin/chatbot
# The volume's mount point, owned by the service user so a new named volume
# is writable (Docker copies this ownership into it).
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV CHATBOT_DATA_DIR=/data \
    CHATBOT_ADDR=:8080 \
    CHATBOT_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8080
# No curl in the image: the binary asks its own /readyz.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["/usr/local/bin/chatbot", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/chatbot"]
CMD ["serve"]
