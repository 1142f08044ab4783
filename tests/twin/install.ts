/**
 * Installs the Azure twin's provider plugins where the Pulumi engine looks for resource plugins, under the exact names
 * and versions the SDKs in `node_modules` ask for, so `pulumi preview/up` runs the program against the twin.
 *
 * What it imitates, and where that was read: pulumi/pulumi `sdk/go/common/workspace/plugins.go`. A resource plugin
 * `NAME` at `VERSION` is the executable `pulumi-resource-NAME` in `$PULUMI_HOME/plugins/resource-NAME-vVERSION/`
 * (`PluginSpec.DirPath`, `File`); `getPlugins` skips a directory that has a sibling `resource-NAME-vVERSION.partial`
 * file (an interrupted install) and `HasPlugin` says "not installed" then; a versioned request picks the plugin of
 * exactly that version (`SelectCompatiblePlugin`). Nothing else is needed in the directory: no manifest, no lock. A
 * plugin on `$PATH` wins unless `PULUMI_IGNORE_AMBIENT_PLUGINS` is set. The executable may be a script; it is started
 * with the engine's address as argument and must print its port first (`@pulumi/pulumi/provider`'s `main` does).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { sdkVersion } from "./plugins/framework";

/** One twin plugin: the resource plugin name, the SDK package whose version it takes, and its compiled entry point. */
export interface TwinPluginSpec {
    /** The resource plugin's name (`pulumi-resource-<name>`). */
    readonly name: string;
    /** The exact version the SDK asks the engine for. */
    readonly version: string;
    /** The SDK package the version is read from. */
    readonly sdkPackage: string;
    /** The compiled plugin script (`bin/tests/twin/plugins/<file>.js`). */
    readonly script: string;
}

/** The twin's plugins, with versions read from `node_modules` now. */
export function twinPlugins(): readonly TwinPluginSpec[] {
    const plugin = (name: string, sdkPackage: string, file: string): TwinPluginSpec => ({
        name,
        sdkPackage,
        version: sdkVersion(sdkPackage),
        script: path.join(__dirname, "plugins", `${file}.js`),
    });
    return [
        plugin("azuread", "@pulumi/azuread", "azuread"),
        plugin("azure-native", "@pulumi/azure-native", "azureNative"),
        plugin("random", "@pulumi/random", "random"),
    ];
}

/** The executable the engine starts for `spec` under `pulumiHome`. */
export function twinPluginExecutable(pulumiHome: string, spec: Pick<TwinPluginSpec, "name" | "version">): string {
    return path.join(pulumiHome, "plugins", `resource-${spec.name}-v${spec.version}`, `pulumi-resource-${spec.name}`);
}

const shellQuote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/**
 * Writes each plugin as `$PULUMI_HOME/plugins/resource-<name>-v<version>/pulumi-resource-<name>`: a shell script that
 * runs the compiled plugin with this very node. Compile first (`tsc -p tsconfig.json`).
 */
export function installTwinPlugins(pulumiHome: string): void {
    for (const spec of twinPlugins()) {
        if (!fs.existsSync(spec.script))
            throw new Error(`The twin's ${spec.name} plugin is not compiled: ${spec.script} is missing (run tsc -p tsconfig.json).`);
        const executable = twinPluginExecutable(pulumiHome, spec);
        const dir = path.dirname(executable);
        fs.mkdirSync(dir, { recursive: true });
        // A leftover marker of an interrupted `pulumi plugin install` would hide the plugin from the engine.
        fs.rmSync(`${dir}.partial`, { force: true });
        fs.writeFileSync(executable, `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(spec.script)} "$@"\n`, { mode: 0o755 });
        fs.chmodSync(executable, 0o755);
    }
}
