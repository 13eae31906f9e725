/**
 * A small S2I builder image and a sample app, made from nothing but the
 * busybox base (Debian's busybox-static): the demo and the S2I tests build
 * them through Cascade, so nothing is downloaded.
 *
 * The builder ("shell" apps) follows the S2I image conventions:
 * - scripts in /usr/libexec/s2i, named by `io.openshift.s2i.scripts-url`;
 * - `assemble` copies the source to $APP_ROOT and "installs" the app's
 *   dependencies (one slow step per line of `deps.txt`), or restores them
 *   from the artifacts an earlier build saved;
 * - `save-artifacts` streams $APP_ROOT/deps as a tar on stdout;
 * - `run` starts the app; `usage` is the image's default command;
 * - `USER 1001`, a group-writable $APP_ROOT, port 8080, and the
 *   `io.k8s.*` / `io.openshift.*` descriptive labels.
 */

/** The builder image's Dockerfile; `BASE` is the busybox base image. */
export function s2iBuilderFiles(base: string): Record<string, string> {
  return {
    Dockerfile: `FROM ${base}
LABEL io.openshift.s2i.scripts-url="image:///usr/libexec/s2i" \\
      io.openshift.s2i.destination="/tmp" \\
      io.openshift.s2i.assemble-user="1001" \\
      io.openshift.expose-services="8080:http" \\
      io.k8s.description="Runs shell apps: assemble installs deps.txt, run starts app.sh" \\
      io.k8s.display-name="Cascade sample shell builder" \\
      io.openshift.tags="builder,shell"
ENV APP_ROOT=/opt/app-root HOME=/opt/app-root PATH=/opt/app-root/bin:/bin
COPY s2i/ /usr/libexec/s2i/
RUN chmod 0755 /usr/libexec/s2i/* && mkdir -p /tmp /opt/app-root/bin && chmod 1777 /tmp && \\
    chown -R 1001:0 /opt/app-root && chmod -R g+rwX /opt/app-root
WORKDIR /opt/app-root
USER 1001
EXPOSE 8080
CMD ["/usr/libexec/s2i/usage"]
`,
    "s2i/assemble": `#!/bin/sh
set -e
echo "---> Installing the application source into $APP_ROOT"
cp -R /tmp/src/. "$APP_ROOT/"
rm -rf "$APP_ROOT/.git" "$APP_ROOT/.s2i"
mkdir -p "$APP_ROOT/deps"
if [ -d /tmp/artifacts/deps ]; then
  echo "---> Restoring dependencies saved by an earlier build"
  cp -R /tmp/artifacts/deps/. "$APP_ROOT/deps/"
fi
if [ -f "$APP_ROOT/deps.txt" ]; then
  while read -r dep; do
    [ -n "$dep" ] || continue
    if [ -f "$APP_ROOT/deps/$dep" ]; then
      echo "---> Dependency $dep: restored ($(cat "$APP_ROOT/deps/$dep"))"
    else
      echo "---> Dependency $dep: installing (slow)"
      sleep 2
      echo "installed at commit $OPENSHIFT_BUILD_COMMIT" > "$APP_ROOT/deps/$dep"
    fi
  done < "$APP_ROOT/deps.txt"
fi
chmod 0755 "$APP_ROOT/app.sh"
echo "---> Assembled"
`,
    "s2i/run": `#!/bin/sh
exec "$APP_ROOT/app.sh" "$@"
`,
    "s2i/save-artifacts": `#!/bin/sh
cd "$APP_ROOT"
if [ -d deps ]; then tar -cf - deps; fi
`,
    "s2i/usage": `#!/bin/sh
cat <<'USAGE'
This is an S2I builder image for shell apps. Give it a source tree with
app.sh (started by run) and, optionally, deps.txt (one dependency per line,
installed by assemble and kept between incremental builds).
USAGE
`,
  };
}

/** The sample app built with the S2I builder above. */
export function s2iAppFiles(message = "hello from an S2I build"): Record<string, string> {
  return {
    "app.sh": `#!/bin/sh
echo "$GREETING: ${message}"
for f in "$APP_ROOT"/deps/*; do [ -f "$f" ] && echo "dependency $(basename "$f"): $(cat "$f")"; done
echo "built from commit $OPENSHIFT_BUILD_COMMIT"
`,
    "deps.txt": "libgreeting\n",
    ".s2i/environment": "GREETING=Hello\n",
  };
}
