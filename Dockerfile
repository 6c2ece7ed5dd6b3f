# A small, static, non-root image of rolesweep.
#   docker build --build-arg VERSION=$(git describe --tags --always) -t rolesweep .
#   docker run --rm -e AUTH0_DOMAIN -e AUTH0_CLIENT_ID -e AUTH0_CLIENT_SECRET \
#     -v "$PWD:/work" rolesweep apply /work/leavers.csv --yes --report /work/report.json
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=""
ARG COMMIT=""
ARG DATE=""
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.buildDate=${DATE}" \
      -o /out/rolesweep .

# distroless/static has CA certificates (TLS to the tenant), tzdata and a
# nonroot user, and no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/rolesweep /usr/local/bin/rolesweep
USER nonroot:nonroot
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/rolesweep"]
CMD ["help"]
