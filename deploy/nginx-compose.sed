# Turns deploy/nginx.conf (one host, systemd) into its docker compose variant;
# docker-compose.yml runs `sed -f nginx-compose.sed nginx.conf` when nginx
# starts, so the two never drift apart. The backends become the compose
# service "api" (with `docker compose up --scale api=N` the name resolves to
# every replica when nginx starts). The IPv6 listeners go: compose networks
# have no IPv6 unless it is enabled, and nginx would not start.
/# BEGIN backends/,/# END backends/c\
        server api:8000;
/^[[:space:]]*listen \[::\]:/d
