/** `layer-relay get --help`. */
export const GET_USAGE = `layer-relay get — fetch an image's files onto this host, verified, into a directory

Usage:
  layer-relay get IMAGE [--platform os/arch[/variant]] [--output DIR] [--force] [--relay URL | --direct]
                        [--json] [--quiet] [--max-entries N] [--max-bytes SIZE] [--timeout SECONDS]

  IMAGE               HOST/PROJECT/REPO[:TAG][@sha256:...], e.g. harbor.example.com/team/app:1.4.2
  --platform, -p      os/arch[/variant]; default: this machine's platform
  --output, -o DIR    where the files go; default ./REPO (the last part of the repository).
                      DIR is replaced as a whole, and only when everything verified and extracted:
                      on any failure it is left exactly as it was. A populated DIR is replaced
                      only when an earlier get of the same repository wrote it (DIR/.layer-relay.json);
                      never /, a populated directory directly under / (/opt, /etc), $HOME or the working
                      directory or a parent of them, or a mount point (use a sub-directory).
  --force             replace a populated DIR without .layer-relay.json, or holding another repository
  --relay URL         the relay to ask (default: LAYER_RELAY_URL)
  --direct            fetch from Harbor itself (HARBOR_URL), without a relay
  --json              print one JSON result object on stdout, nothing else
  --quiet, -q         print nothing but errors
  --max-entries N     refuse a layer with more tar entries; per layer (default 1000000; LAYER_RELAY_MAX_ENTRIES)
  --max-bytes SIZE    refuse a layer that expands past SIZE, e.g. 64G; per layer, so an image of n
                      layers may write up to n × SIZE (default 64G; LAYER_RELAY_MAX_BYTES)
  --timeout SECONDS   how long to wait for the relay to copy the image (default 1800)

Settings come from the environment or a credentials file, never from the command line:
  LAYER_RELAY_URL                                               the relay
  LAYER_RELAY_TOKEN                                             its API token (RELAY_AUTH=token), or
  LAYER_RELAY_USERNAME, LAYER_RELAY_PASSWORD                    your Harbor login (RELAY_AUTH=harbor)
  HARBOR_URL, HARBOR_USERNAME, HARBOR_PASSWORD                  Harbor, for --direct
  LAYER_RELAY_CREDENTIALS   a file of KEY=value lines with the keys above (mode 600);
                            default ~/.config/layer-relay/credentials. The environment wins.

Every layer's sha256 is checked before the output directory changes; downloads resume after a
dropped connection. Symlinks are kept as links (never followed while extracting); hard links
become links inside DIR; devices and FIFOs are skipped; whiteouts apply across layers.

Exit codes: 0 done, 1 failed (one line with the reason, and a hint), 2 wrong command line,
130/143 interrupted by SIGINT/SIGTERM (nothing changed in DIR).

Examples:
  LAYER_RELAY_URL=https://relay.example.com layer-relay get harbor.example.com/team/app:1.4.2 -o /opt/app
  layer-relay get harbor.example.com/team/app:1.4.2 --platform linux/arm64 --relay http://127.0.0.1:8080
  HARBOR_URL=https://harbor.example.com layer-relay get harbor.example.com/team/app:1.4.2 --direct --json
`;
