#!/usr/bin/env bash
# lifelong tests — the installed SDK end to end: configure a separate build
# of the source tree with a temporary prefix, install it (also with
# DESTDIR), check what was installed, then, with pkg-config pointed at that
# prefix only, write plugins with the installed `lifelong new`, build them
# out of tree with nothing but pkg-config, and run them through the
# installed `lifelong`.  TAP on stdout.
# Usage: test-sdk.sh SOURCE_DIR
set -uo pipefail
export LC_ALL=C

src=$(cd "$1" && pwd -P)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lifelong-sdk.XXXXXX")
tmp=$(cd "$tmp" && pwd -P)
trap 'rm -rf "$tmp"' EXIT
unset LIFELONG_PLUGIN_PATH PKG_CONFIG_PATH PKG_CONFIG_LIBDIR MESON_BUILD_ROOT MESON_SOURCE_ROOT

n=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
bail () {   # message [log file]
  n=$((n + 1))
  echo "not ok $n - $1"
  if [ -n "${2:-}" ] && [ -f "$2" ]; then sed 's/^/# /' "$2" | tail -n 40; fi
  echo "Bail out! $1"
  exit 1
}
check () {  # description command... (its output goes to $tmp/last.log)
  local what=$1; shift
  if "$@" >"$tmp/last.log" 2>&1; then ok "$what"; else bail "$what" "$tmp/last.log"; fi
}
t0=$(date +%s)
elapsed () { echo "# $1: $(( $(date +%s) - t0 )) s so far"; }
json () {   # file python-expression-on-r (prints it)
  python3 -c "import json, sys; r = json.load(open(sys.argv[1])); print($2)" "$1"
}

# ---- a separate build of the source tree, installed into a temporary prefix

prefix=$tmp/prefix
check "meson setup of a separate build with --prefix=$prefix" \
  meson setup "$tmp/build" "$src" --prefix="$prefix" -Dbuildtype=release -Db_sanitize=none
check "meson install --destdir (builds the tree)" meson install -C "$tmp/build" --destdir "$tmp/stage"
check "meson install into the prefix" meson install -C "$tmp/build" --no-rebuild
elapsed "configured, built and installed"

pc=$(find "$prefix" -name lifelong.pc -print -quit)
[ -n "$pc" ] || bail "lifelong.pc is installed"
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir")
plugindir=$libdir/lifelong/plugins
ok "lifelong.pc is installed ($pc)"

# The DESTDIR install holds the same tree under the staging folder.
for f in "$pc" "$libdir/liblifelong.so.0.1.0" "$prefix/bin/lifelong" "$prefix/include/lifelong/lifelong.h" \
         "$plugindir/naive.so"; do
  [ -e "$tmp/stage$f" ] || bail "DESTDIR install has ${f#"$prefix"/}"
done
ok "meson install --destdir stages the library, the executable, the headers, the plugins and lifelong.pc"

# liblifelong: versioned, soname liblifelong.so.0
[ -f "$libdir/liblifelong.so.0.1.0" ] && [ -L "$libdir/liblifelong.so.0" ] && [ -L "$libdir/liblifelong.so" ] \
  || bail "liblifelong.so.0.1.0 with the links liblifelong.so.0 and liblifelong.so"
soname=$(readelf -d "$libdir/liblifelong.so.0.1.0" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = liblifelong.so.0 ] || bail "soname is liblifelong.so.0 (got '$soname')"
ok "liblifelong.so.0.1.0, soname liblifelong.so.0"

# Every public header of the source tree is installed, toolkit/ included.
missing=""
while IFS= read -r h; do
  rel=${h#"$src/include/"}
  [ -f "$prefix/include/$rel" ] || missing="$missing $rel"
done < <(find "$src/include/lifelong" -name '*.h')
[ -z "$missing" ] || bail "every public header is installed (missing:$missing)"
ok "every header of include/lifelong (toolkit/ too) is installed"

# The bundled plugins: the same files as the build's plugin folder.
built=$(cd "$tmp/build/plugins" && ls -- *.so | sort)
installed=$(cd "$plugindir" && ls -- *.so | sort)
[ -n "$built" ] && [ "$built" = "$installed" ] || bail "the bundled plugins are installed into $plugindir"
ok "the $(echo "$built" | wc -l) bundled plugins are installed into libdir/lifelong/plugins"

# The executable finds liblifelong in the prefix by itself (install_rpath).
runpath=$(readelf -d "$prefix/bin/lifelong" | sed -n 's/.*(\(RUNPATH\|RPATH\)).*\[\(.*\)\]/\2/p')
case ":$runpath:" in *":$libdir:"*) ;; *) bail "lifelong's runpath has $libdir (got '$runpath')" ;; esac
lib_used=$(env -u LD_LIBRARY_PATH ldd "$prefix/bin/lifelong" | sed -n 's/.*liblifelong.so.0 => \([^ ]*\).*/\1/p')
[ "$lib_used" = "$libdir/liblifelong.so.0" ] || bail "the installed lifelong loads the installed liblifelong (got '$lib_used')"
check "the installed lifelong runs (--version)" env -u LD_LIBRARY_PATH "$prefix/bin/lifelong" --version

# ---- pkg-config: the only thing an out-of-tree build gets

export PKG_CONFIG_PATH=$pcdir
flags=$(pkg-config --cflags --libs lifelong) || bail "pkg-config --cflags --libs lifelong"
case " $flags " in *" -I$prefix/include "*) ;; *) bail "cflags have -I$prefix/include: $flags" ;; esac
case " $flags " in *" -llifelong "*) ;; *) bail "libs have -llifelong: $flags" ;; esac
case "$flags" in *"$src"*|*"$tmp/build"*) bail "pkg-config points into a source or build tree: $flags" ;; esac
ok "pkg-config --cflags --libs lifelong: $flags"
requires=$(pkg-config --print-requires lifelong | tr '\n' ' ')
case "$requires" in "glib-2.0"*) ;; *) bail "Requires: glib-2.0 only (got '$requires')" ;; esac
case "$requires" in *json-glib*) bail "json-glib is not a public requirement (got '$requires')" ;; esac
[ "$(pkg-config --variable=plugindir lifelong)" = "$plugindir" ] || bail "plugindir variable is $plugindir"
[ "$(pkg-config --variable=lifelong lifelong)" = "$prefix/bin/lifelong" ] || bail "lifelong variable is the installed executable"
ok "Requires: $requires; plugindir=$plugindir"

# ---- the installed lifelong reads the installed plugin folder, never a build tree's

export PATH=$prefix/bin:$PATH
[ "$(command -v lifelong)" = "$prefix/bin/lifelong" ] || bail "the installed lifelong is first on PATH"
[ -d "$tmp/build/plugins" ] || bail "the build tree's plugin folder still exists (so the next check means something)"
check "lifelong plugins --json (installed)" sh -c 'lifelong plugins --json > "$1/plugins.json"' sh "$tmp"
check "its search path has the installed plugin folder and no build tree" python3 - "$tmp/plugins.json" "$plugindir" "$tmp/build" "$src" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
plugindir, build, src = sys.argv[2:5]
path = r["search_path"]
assert plugindir in path, path
assert not any(p.startswith(build + "/") or p.startswith(src + "/") or p in (build, src) for p in path), path
files = [p["file"] for p in r["plugins"]]
assert files and all(f.startswith(plugindir + "/") for f in files), files
names = {p["name"] for p in r["plugins"]}
assert {"naive", "cumulative", "mlp", "synthetic"} <= names, names
assert not r["errors"], r["errors"]
EOF
check "the separate build's own lifelong, run from its tree, does read its plugin folder" \
  sh -c '"$1/framework/lifelong" plugins --json | grep -q "\"$1/plugins\""' sh "$tmp/build"

# ---- lifelong new, out of tree, with nothing but pkg-config

mkdir -p "$tmp/work"
cd "$tmp/work" || bail "cd $tmp/work"
elapsed "install checked"
for spec in strategy:my-method model:my-model dataset:my-data; do
  kind=${spec%%:*} name=${spec#*:}
  check "lifelong new $kind $name" sh -c 'lifelong new "$1" "$2" > "$2.new.txt"' sh "$kind" "$name"
  grep -q "PKG_CONFIG_PATH" "$name.new.txt" && bail "lifelong new asks for no PKG_CONFIG_PATH when pkg-config finds it" "$name.new.txt"
  grep -q "^  lifelong run example.json --plugin-path build" "$name.new.txt" || bail "lifelong new prints the run command" "$name.new.txt"
  for f in meson.build "$name.c" example.json README.md "tests/test-$name.c"; do
    [ -f "$name/$f" ] || bail "lifelong new $kind $name wrote $f"
  done
  check "$name: meson setup (-Dwerror=true), out of tree" meson setup "$name/build" "$name" -Dwerror=true
  check "$name: meson compile, zero warnings" meson compile -C "$name/build"
  if grep -q -e "$src" -e "$tmp/build" "$name/build/compile_commands.json" "$name/build/build.ninja"; then
    bail "$name: the build never reads the source tree or its build folders"
  fi
  exports=$(nm -D --defined-only "$name/build/$name.so" | awk '$2 ~ /^[TDBR]$/ { print $3 }' \
            | grep -v -x -e _init -e _fini -e __bss_start -e _edata -e _end | tr '\n' ' ')
  [ "$exports" = "lf_plugin_query " ] || bail "$name.so exports lf_plugin_query only (got '$exports')"
  ok "$name: built from pkg-config alone; exports lf_plugin_query only"
  check "$name: meson test (runs example.json through lifelong run)" meson test -C "$name/build"
done
elapsed "three plugins written, built and tested"

cd "$tmp/work/my-method" || bail "cd my-method"
check "my-method: lifelong run example.json --plugin-path build" \
  lifelong run example.json --plugin-path build --out result.json --quiet
[ "$(json result.json 'r["status"]')" = ok ] || bail "result.json has status ok"
[ "$(json result.json 'r["versions"]["plugins"]["my-method"]')" = 0.1.0 ] || bail "the run used my-method 0.1.0"
[ "$(json result.json 'r["strategy"]["steps_seen"] > 0')" = True ] || bail "my-method reported its figures"
ok "result.json: status ok, my-method 0.1.0, its own figures"
check "lifelong plugins --plugin-path build lists my-method from the build folder" \
  sh -c 'lifelong plugins --plugin-path build | grep -q "file: $1/my-method.so"' sh "$tmp/work/my-method/build"
check "meson install puts my-method.so into plugindir" meson install -C build
[ -f "$plugindir/my-method.so" ] || bail "my-method.so is in $plugindir"
check "lifelong run finds the installed my-method without --plugin-path" \
  lifelong run example.json --out installed.json --quiet
if meson test -C build >"$tmp/last.log" 2>&1 \
   || ! grep -q "is another my-method installed" build/meson-logs/testlog.txt; then
  bail "my-method's meson test notices that the installed copy shadows the build's" "$tmp/last.log"
fi
ok "my-method's meson test notices that the installed copy shadows the build's"
cd "$tmp/work" || bail "cd $tmp/work"

# ---- lifelong new refuses what it should

refuses () {  # status pattern description command...
  local want=$1 pattern=$2 what=$3; shift 3
  "$@" >"$tmp/last.log" 2>&1
  local got=$?
  [ "$got" = "$want" ] && grep -q -- "$pattern" "$tmp/last.log" || bail "$what (exit $got, want $want)" "$tmp/last.log"
  ok "$what"
}
refuses 1 "already exists" "lifelong new refuses an existing folder" lifelong new strategy my-method
refuses 1 "already on the plugin search path" "lifelong new refuses a name taken on the search path" \
  lifelong new strategy naive
refuses 2 "is not \[a-z\]" "lifelong new refuses a name that is not [a-z][a-z0-9-]*" lifelong new strategy My_Method
refuses 2 "unknown kind" "lifelong new refuses an unknown kind" lifelong new metric x
[ ! -e naive ] && [ ! -e My_Method ] && [ ! -e x ] || bail "a refused lifelong new leaves nothing behind"
ok "a refused lifelong new leaves nothing behind"

elapsed "done"
echo "1..$n"
