#!/bin/sh
# azd's prepackage hook of the "web" service (run in spa/): makes spa/ the whole static site.
# - spa/vendor/openai: the scripts of the real `openai` npm package (its ES modules and the guarded .js files they
#   import), which the page's import map loads
#   (the Functions.Local build does the same copy for the local demo);
# - spa/config.json: where the API is (the Function App's URL, an azd output) and no development caller field.
# Both files are ignored by git; the local host answers /config.json itself.
set -eu
root="$(cd .. && pwd)"
[ -f "$root/node_modules/openai/package.json" ] || (cd "$root" && npm ci --no-audit --no-fund --loglevel=error)
rm -rf vendor/openai
mkdir -p vendor/openai
(cd "$root/node_modules/openai" && find . \( -name '*.mjs' -o -name '*.js' -o -name LICENSE -o -name package.json \) -type f \
  -exec sh -c 'mkdir -p "$0/$(dirname "$1")" && cp "$1" "$0/$1"' "$OLDPWD/vendor/openai" {} \;)
: "${SERVICE_API_URI:?run azd provision first: SERVICE_API_URI (the Function App URL) is not set}"
printf '{ "apiBase": "%s", "callerField": false }\n' "$SERVICE_API_URI" > config.json
echo "spa/ prepared for $SERVICE_API_URI"
