# Sourced by the bench scripts.

# The URL a server started in the background printed into FILE (`listening on
# http://ADDR`), once it has: waits up to 10 s, else says so and fails.
url_from() {
  local file=$1 url
  for _ in $(seq 100); do
    url=$(grep -o 'http://[0-9.:]*' "$file" | head -1 || true)
    [ -n "$url" ] && { echo "$url"; return 0; }
    sleep 0.1
  done
  echo "nothing listening: no URL in $file" >&2
  return 1
}
