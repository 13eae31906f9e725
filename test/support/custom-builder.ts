/**
 * A Custom-strategy builder image made from the busybox base, for tests:
 * its CMD is a shell script that builds an image by hand, the OCI way. It
 * tars a root filesystem (busybox and the source's `message.txt`), hashes it
 * with `sha256sum`, writes the config, manifest and `index.json`, and leaves
 * the OCI image layout in `$CASCADE_OUTPUT_DIR` for Cascade to push. It also
 * records what it was given (variables, and whether it saw registry
 * credentials) inside the image, so that a test can read them back.
 */
export const CUSTOM_BUILD_SCRIPT = String.raw`#!/bin/sh
set -e
out="$CASCADE_OUTPUT_DIR"
if [ -n "$PUSH_DOCKERCFG_PATH" ]; then
  # With spec.output.pushSecret, a builder pushes by itself; this one only shows it got the credentials.
  echo "custom builder: push config sha256 $(sha256sum "$PUSH_DOCKERCFG_PATH/.dockerconfigjson" | cut -d' ' -f1)"
  echo "custom builder: push config says $(cat "$PUSH_DOCKERCFG_PATH/.dockerconfigjson")"
  exit 0
fi
work="$out/.work"
root="$work/rootfs"
mkdir -p "$root/bin" "$root/app" "$out/blobs/sha256"
cp /bin/busybox "$root/bin/busybox"
for a in sh cat ls echo; do ln -s busybox "$root/bin/$a"; done
cp "$CASCADE_SOURCE_DIR/message.txt" "$root/app/message.txt"
{
  echo "OUTPUT_REGISTRY=$OUTPUT_REGISTRY"
  echo "OUTPUT_IMAGE=$OUTPUT_IMAGE"
  echo "SOURCE_URI=$SOURCE_URI"
  echo "SOURCE_REF=$SOURCE_REF"
  echo "BUILD_KIND=$(echo "$BUILD" | grep -o '"kind":"Build"' || true)"
  echo "MODE=$MODE"
  echo "uid=$(id -u)"
  if [ -n "$PUSH_DOCKERCFG_PATH" ] || [ -n "$REGISTRY_AUTH_FILE" ]; then echo "credentials=yes"; else echo "credentials=none"; fi
  ls /var/run/secrets/openshift.io/push >/dev/null 2>&1 && echo "push-secret-mount=yes" || echo "push-secret-mount=none"
} > "$root/app/build-env.txt"
echo "custom builder: packing $(wc -c < "$root/app/message.txt") bytes of message as uid $(id -u)"
(cd "$root" && tar -cf "$work/layer.tar" .)
layer=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
lsize=$(wc -c < "$work/layer.tar")
mv "$work/layer.tar" "$out/blobs/sha256/$layer"
printf '{"architecture":"amd64","os":"linux","config":{"User":"1001","Cmd":["/bin/cat","/app/message.txt"],"Labels":{"io.k8s.description":"Built by a custom builder","io.k8s.display-name":"custom app","io.openshift.tags":"custom"}},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"custom builder"}]}' "$layer" > "$work/config.json"
config=$(sha256sum "$work/config.json" | cut -d' ' -f1)
csize=$(wc -c < "$work/config.json")
mv "$work/config.json" "$out/blobs/sha256/$config"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' "$config" "$csize" "$layer" "$lsize" > "$work/manifest.json"
manifest=$(sha256sum "$work/manifest.json" | cut -d' ' -f1)
msize=$(wc -c < "$work/manifest.json")
mv "$work/manifest.json" "$out/blobs/sha256/$manifest"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s}]}' "$manifest" "$msize" > "$out/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' > "$out/oci-layout"
rm -rf "$work"
echo "custom builder: wrote sha256:$manifest"
`;

/** The builder image's repository: its Dockerfile (FROM the busybox base) and the script. */
export function customBuilderFiles(base: string): Record<string, string> {
  return {
    Dockerfile: `FROM ${base}\nCOPY build.sh /bin/cascade-custom-build\nRUN chmod 0755 /bin/cascade-custom-build\nUSER 1001\nCMD ["/bin/cascade-custom-build"]\n`,
    "build.sh": CUSTOM_BUILD_SCRIPT,
  };
}
