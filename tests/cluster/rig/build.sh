#!/usr/bin/env bash
# Builds the cluster tests' rig from the Go modules beside this script (see docs/testing.md) and prints, as
# `NAME=path` lines on stdout, where each binary is. Every part is cached under a key made of its module's files,
# the Go version and the build flags, so only the first run on a machine pays for a build; Go's own caches
# (GOMODCACHE, GOCACHE) are left where the machine keeps them, so a changed module rebuilds only what changed.
#
# envtest's conventions are honoured: KUBEBUILDER_ASSETS (a setup-envtest directory with kube-apiserver and etcd),
# or TEST_ASSET_KUBE_APISERVER / TEST_ASSET_ETCD, replace the API server and the storage we would build;
# TEST_ASSET_KUBE_CONTROLLER_MANAGER does the same for the controller manager (envtest ships none).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cache="${AKS_ACR_RIG_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/aks-acr-cross-tenant/rig}"
mkdir -p "$cache"
# One build at a time per cache: parallel test processes (or a second suite) wait for the first instead of building
# the same parts again side by side on a 2-core machine.
exec 9>"$cache/.build.lock"
flock 9

# The control plane's release; its staging modules are pinned to the matching v0.<minor>.<patch> in apiserver/go.mod.
k8s_version="v1.36.3"
k8s_minor="$(echo "$k8s_version" | cut -d. -f2)"
# The Pulumi CLI's release, as required in pulumi/go.mod.
pulumi_version="v3.274.1"
# The engine loads the Kubernetes plugin by the exact version the npm SDK asks for.
kubernetes_plugin_version="$(node -p 'require(process.argv[1]).version' "$root/node_modules/@pulumi/kubernetes/package.json")"

log() { echo "rig: $*" >&2; }

# key PART FLAGS...: a digest of the part's module files, the Go version and the flags it is built with.
key() {
    local dir="$here/$1"
    shift
    {
        (cd "$dir" && cat go.mod go.sum $(find . -name "*.go" | sort) 2>/dev/null || true)
        go version
        printf '%s\n' "$@"
    } | sha256sum | cut -c1-16
}

# build PART OUT_DIR LDFLAGS PACKAGES...: go build into a fresh directory, then move it into place, so an
# interrupted build never leaves a half-filled cache entry behind.
build() {
    local part="$1" out="$2" ldflags="$3"
    shift 3
    if [ -e "$out/.complete" ]; then
        return
    fi
    local tmp="$out.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    local started=$SECONDS
    log "building $part (first run on this machine; later runs reuse $out)"
    (cd "$here/$part" && go build -trimpath -ldflags "$ldflags" -o "$tmp/" "$@") >&2
    log "built $part in $((SECONDS - started)) s"
    touch "$tmp/.complete"
    rm -rf "$out"
    mv "$tmp" "$out"
    prune "$out"
}

# prune DIR: removes the other cache entries of DIR's part (older keys), so the cache holds one build of each.
prune() {
    local keep="$1" prefix
    prefix="$(basename "$1")"
    prefix="${prefix%%-*}"
    for stale in "$cache/$prefix"-*; do
        case "$stale" in
            "$keep" | "$keep".*) ;;
            *) [ -d "$stale" ] && rm -rf "$stale" ;;
        esac
    done
}

# The API server and controller manager report this version; the Kubernetes provider parses it, and a server that
# says v0.0.0 makes it misjudge the cluster.
k8s_ldflags="-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$k8s_minor"
k8s_ldflags="$k8s_ldflags -X k8s.io/component-base/version.gitVersion=$k8s_version -X k8s.io/component-base/version.gitTreeState=clean"
kube_dir="$cache/kube-$(key apiserver "$k8s_ldflags")"

apiserver="${TEST_ASSET_KUBE_APISERVER:-}"
etcd="${TEST_ASSET_ETCD:-}"
if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
    apiserver="${apiserver:-$KUBEBUILDER_ASSETS/kube-apiserver}"
    etcd="${etcd:-$KUBEBUILDER_ASSETS/etcd}"
fi
controller_manager="${TEST_ASSET_KUBE_CONTROLLER_MANAGER:-}"
if [ -z "$apiserver" ] || [ -z "$controller_manager" ]; then
    build apiserver "$kube_dir" "$k8s_ldflags" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
    apiserver="${apiserver:-$kube_dir/kube-apiserver}"
    controller_manager="${controller_manager:-$kube_dir/kube-controller-manager}"
fi

kine=""
if [ -z "$etcd" ]; then
    kine_dir="$cache/kine-$(key kine)"
    build kine "$kine_dir" "-s -w" github.com/k3s-io/kine
    kine="$kine_dir/kine"
fi

# The engine finds its bundled plugins (the language host, the dynamic-provider launcher) next to `pulumi`, so the
# CLI and the language host are built into one directory.
pulumi_ldflags="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pulumi_version"
# What sdk/nodejs/dist/pulumi-resource-pulumi-nodejs does in a Pulumi release: run the dynamic provider host of the
# project's own @pulumi/pulumi. The engine starts it in the project's directory; resolving the module from there
# (rather than ./node_modules) also finds it when the project sits below the package root, as the test stacks do.
launcher='#!/bin/sh
exec node "$(node -p '"'"'require.resolve("@pulumi/pulumi/cmd/dynamic-provider")'"'"')" "$@"'
cli_dir="$cache/pulumi-$(key pulumi "$pulumi_ldflags")"
langhost_dir="$cache/langhost-$(key langhost)"
build pulumi "$cli_dir" "$pulumi_ldflags" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
build langhost "$langhost_dir" "" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs
engine_dir="$cache/engine-$(basename "$cli_dir")-$(basename "$langhost_dir")-$(echo "$launcher" | sha256sum | cut -c1-8)"
if [ ! -e "$engine_dir/.complete" ]; then
    rm -rf "$engine_dir.tmp"
    mkdir -p "$engine_dir.tmp"
    cp "$cli_dir/pulumi" "$langhost_dir/pulumi-language-nodejs" "$engine_dir.tmp/"
    printf '%s\n' "$launcher" >"$engine_dir.tmp/pulumi-resource-pulumi-nodejs"
    chmod +x "$engine_dir.tmp/pulumi-resource-pulumi-nodejs"
    touch "$engine_dir.tmp/.complete"
    rm -rf "$engine_dir"
    mv "$engine_dir.tmp" "$engine_dir"
    prune "$engine_dir"
fi

# The provider's main embeds the committed schema files of the module it builds from. `go mod download` (not
# `go list -m`, which prints no directory for a module not yet in the cache) fetches it on a fresh machine.
provider_module_dir="$(cd "$here/kubernetes" && go mod download -json github.com/pulumi/pulumi-kubernetes/provider/v4 |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
if [ ! -d "$provider_module_dir/cmd/pulumi-resource-kubernetes" ]; then
    log "could not find pulumi-kubernetes/provider/v4 in the module cache (got '$provider_module_dir')"
    exit 1
fi
for f in schema.json terraform-mapping.json; do
    if ! cmp -s "$provider_module_dir/cmd/pulumi-resource-kubernetes/$f" "$here/kubernetes/cmd/pulumi-resource-kubernetes/$f"; then
        cp "$provider_module_dir/cmd/pulumi-resource-kubernetes/$f" "$here/kubernetes/cmd/pulumi-resource-kubernetes/$f"
        chmod u+w "$here/kubernetes/cmd/pulumi-resource-kubernetes/$f"
    fi
done
kubernetes_ldflags="-s -w -X main.version=$kubernetes_plugin_version"
kubernetes_dir="$cache/kubernetes-$(key kubernetes "$kubernetes_ldflags")"
build kubernetes "$kubernetes_dir" "$kubernetes_ldflags" ./cmd/pulumi-resource-kubernetes

# External Secrets Operator's controller (eso/: a main calling its root command), and its CRD bundle as its module
# ships it: tests apply exactly what a cluster running this release holds. `go mod download` (as for the provider
# above) finds the module's directory on a fresh machine too.
eso_ldflags="-s -w"
eso_dir="$cache/eso-$(key eso "$eso_ldflags")"
build eso "$eso_dir" "$eso_ldflags" ./cmd/external-secrets
eso_module_dir="$(cd "$here/eso" && go mod download -json github.com/external-secrets/external-secrets |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
eso_crds="$eso_module_dir/deploy/crds/bundle.yaml"
if [ ! -f "$eso_crds" ]; then
    log "could not find external-secrets' deploy/crds/bundle.yaml in the module cache (got '$eso_module_dir')"
    exit 1
fi

echo "KUBE_APISERVER=$apiserver"
echo "KUBE_CONTROLLER_MANAGER=$controller_manager"
echo "ETCD=$etcd"
echo "KINE=$kine"
echo "PULUMI_BIN_DIR=$engine_dir"
echo "PULUMI_RESOURCE_KUBERNETES=$kubernetes_dir/pulumi-resource-kubernetes"
echo "PULUMI_RESOURCE_KUBERNETES_VERSION=$kubernetes_plugin_version"
echo "KUBERNETES_VERSION=$k8s_version"
echo "ESO=$eso_dir/external-secrets"
echo "ESO_CRDS=$eso_crds"
