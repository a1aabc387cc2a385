#!/bin/sh
# The system packages pbtnas needs, installed with apt-get where the machine allows it (root, apt-get present).
# `make test` and `make demo` run this before they build the venv. It never fails the build: where it cannot
# install, it says what it skipped, and the tests that need the missing piece skip with the reason (the dashboard's
# browser tests fail instead, naming this script: CI must run them; PBTNAS_NO_BROWSER=1 skips them knowingly).
# Quick when everything is there: one check per package, no apt-get call.
#
# THE LIST: one package a line, "NAME CHECK...": CHECK is a shell command that succeeds when the machine already
# has what the package is for (possibly from another package); then NAME is not installed. NAME (one word) and
# CHECK may use shell variables ($PYTHON is the Makefile's interpreter). Add packages here.
PYTHON=${PYTHON:-python3.11}
PYTHON_VENV=$(basename "$PYTHON")-venv  # Debian's venv module for that interpreter: python3.11-venv
PACKAGES='
$PYTHON_VENV "$PYTHON" -c "import ensurepip, venv"
libosmesa6 gl_backend_present
graphviz command -v dot
chromium command -v chromium
neovim command -v nvim
'
# libosmesa6 only where no OpenGL backend is there at all: pbtnas probes the backends and renders with whichever
# works (OSMesa, or Mesa EGL with its llvmpipe driver, or NVIDIA's EGL), so a machine with EGL needs nothing more,
# and on Debian installing libosmesa6 can upgrade the installed Mesa packages (it pins libglapi-mesa's version).
# chromium: the headless browser tests/dashboard drive through Playwright (Debian's build: Playwright's own browser
# download cannot be fetched on every machine, and `playwright install` is never run).
# neovim: tests/editors/test_vim_syntax.py checks editors/vim's syntax file in a real (headless) Neovim; 0.7 works.

gl_backend_present() {
    libs=$(ldconfig -p 2>/dev/null)
    case $libs in *libOSMesa.so*|*libEGL_nvidia.so*) return 0 ;; esac
    case $libs in
        *libEGL_mesa.so*)  # Mesa's EGL renders without a GPU only with its software driver
            for dri in /usr/lib/*/dri/swrast_dri.so /usr/lib/dri/swrast_dri.so /usr/lib64/dri/swrast_dri.so; do
                [ -e "$dri" ] && return 0
            done ;;
    esac
    return 1
}

missing=""
while read -r name check; do
    [ -n "$name" ] || continue
    name=$(eval "echo $name")
    if ! eval "$check" >/dev/null 2>&1; then
        missing="$missing $name"
    fi
done <<EOF
$PACKAGES
EOF
missing=${missing# }

if [ -z "$missing" ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "system packages: skipped $missing (installing needs root and apt-get: apt-get install -y $missing);" \
         "tests that need them skip with the reason" >&2
    exit 0
fi
echo "system packages: installing $missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || echo "system packages: apt-get update failed; trying the install anyway" >&2
for name in $missing; do  # one at a time: a package this distribution lacks does not stop the others
    apt-get install -y -qq --no-install-recommends "$name" >/dev/null ||
        echo "system packages: apt-get could not install $name; continuing without it" >&2
done
exit 0
