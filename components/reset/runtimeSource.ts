/**
 * Ships a dynamic provider's runtime (the cluster binding's, the pull secret reference's) as source text instead of
 * letting Pulumi's closure serializer walk it.
 *
 * Pulumi serializes a dynamic provider into the state on every run, walking every function the provider's methods
 * reach, one inspector round trip and one parse at a time: for the reset's fifty functions that was most of the
 * program's start-up beyond a flat program. Here the provider captures the runtime modules' source text (a few
 * strings) and `loadShippedRuntime`, which evaluates them as CommonJS modules inside the provider host, once per
 * process. The shipped modules may import only each other (`./<name>`), packages and Node built-ins; a test holds
 * them to that.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** The modules the binding runs, in load order: each may require the ones before it (the default of `shippedRuntime`). */
export const RUNTIME_MODULES = ["clouds", "clusterIdentity", "bindingState", "resetClusterServicePrincipal", "bindingProvider"] as const;

/**
 * The source without its comment lines: every line that holds only a `//` comment, and every block comment that
 * starts and ends a line (JSDoc), the source map comment (which would point the host at a file that is not there) among
 * them. The text travels in the state with every resource, and most of it was documentation. A comment that shares a
 * line with code stays; shipped modules hold no template literal across lines (a test holds them to that), so no
 * code or string is cut.
 */
export function withoutCommentLines(source: string): string {
    return source.replace(/^[ \t]*(?:\/\/[^\n]*|\/\*[^*]*\*+(?:[^/*][^*]*\*+)*\/[ \t]*)(?:\r?\n|$)/gm, "");
}

/** One runtime module as the provider host receives it. */
export interface ShippedModule {
    readonly name: string;
    /** TypeScript when the program runs from its sources (pulumi's ts-node); the host then transpiles it. */
    readonly typescript: boolean;
    readonly source: string;
}

/**
 * The runtime modules' sources, read next to this module: compiled JavaScript for a built library (`lib/`, `bin/`),
 * TypeScript when the program runs from its sources. Reading is cheap; transpiling is left to the provider host,
 * which needs it only when the binding changes something.
 */
export function shippedRuntime(
    directory: string = __dirname,
    typescript: boolean = __filename.endsWith(".ts"),
    modules: readonly string[] = RUNTIME_MODULES,
): ShippedModule[] {
    return modules.map((name) => {
        const text = fs.readFileSync(path.join(directory, `${name}.${typescript ? "ts" : "js"}`), "utf8");
        return { name, typescript, source: withoutCommentLines(text) };
    });
}

/** The parts of Node's CommonJS module object this loader uses (`_compile` and `_nodeModulePaths` are not typed). */
interface CommonJsModule {
    exports: unknown;
    filename: string;
    paths: string[];
    require: (this: CommonJsModule, id: string) => unknown;
    _compile(code: string, filename: string): void;
}
interface CommonJsModuleClass {
    new (id: string): CommonJsModule;
    readonly prototype: CommonJsModule;
    _nodeModulePaths(directory: string): string[];
}

/**
 * Evaluates the shipped modules in the provider host and returns each one's exports by name. Serialized by value
 * into the state, so it uses nothing of this module's scope: packages resolve from the host's working directory
 * (the project, where they are installed), and TypeScript sources are transpiled with the project's TypeScript.
 */
export function loadShippedRuntime(modules: readonly ShippedModule[]): Record<string, unknown> {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const Module = require("node:module") as CommonJsModuleClass;
    const nodePath = require("node:path") as typeof import("node:path");
    /* eslint-enable @typescript-eslint/no-require-imports */
    const base = process.cwd();
    const loaded: Record<string, unknown> = {};
    for (const shipped of modules) {
        const filename = nodePath.join(base, "aks-acr-cross-tenant-runtime", `${shipped.name}.js`);
        let code = shipped.source;
        if (shipped.typescript) {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const ts = require("typescript") as typeof import("typescript");
            code = ts.transpileModule(code, {
                fileName: `${shipped.name}.ts`,
                compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
            }).outputText;
        }
        const module = new Module(filename);
        module.filename = filename;
        module.paths = Module._nodeModulePaths(base);
        const nodeRequire = Module.prototype.require;
        module.require = (id: string): unknown => {
            // Node's own resolution for everything else, from the project's node_modules.
            if (!id.startsWith("./")) return nodeRequire.call(module, id);
            const sibling = id.slice(2);
            if (!(sibling in loaded)) {
                throw new Error(`${shipped.name} requires ${id}, which is not shipped before it`);
            }
            return loaded[sibling];
        };
        module._compile(code, filename);
        loaded[shipped.name] = module.exports;
    }
    return loaded;
}

/**
 * `exportName` of the shipped module `moduleName`, loaded on the first call and kept for the provider process.
 * Serialized by value with the provider that calls it, so it, too, uses nothing of this module's scope but
 * `loadShippedRuntime`.
 */
export function lazyRuntimeExport<T>(modules: readonly ShippedModule[], moduleName: string, exportName: string): () => T {
    // A holder object, not a `let`: the serialized closure keeps the object and sees the assignment.
    const loaded: { value?: T } = {};
    return () => {
        if (loaded.value === undefined) {
            const exports = loadShippedRuntime(modules)[moduleName] as Record<string, T>;
            loaded.value = exports[exportName];
        }
        return loaded.value;
    };
}

/**
 * The `__provider` text of a dynamic resource whose provider is `exportName` of the shipped module `moduleName`:
 * the CommonJS module Pulumi's dynamic provider host loads (`requireFromString(text).handler()`, in
 * `@pulumi/pulumi/cmd/dynamic-provider`; the same contract every state ever written relies on). Written here rather
 * than by Pulumi's closure serializer, which loads TypeScript and walks each function once per program: about
 * 0.6 s of start-up for a provider that is nothing but these strings and `loadShippedRuntime`.
 */
export function shippedProviderSource(modules: readonly ShippedModule[], moduleName: string, exportName: string): string {
    return [
        "exports.handler = function () {",
        `    const loadShippedRuntime = ${loadShippedRuntime.toString()};`,
        `    return loadShippedRuntime(${JSON.stringify(modules)})[${JSON.stringify(moduleName)}][${JSON.stringify(exportName)}];`,
        "};",
        "",
    ].join("\n");
}

/** Where a configured stub finds its provider: two keys of its provider resource's configuration. */
export interface ConfiguredProviderKeys {
    /** The key holding the provider's module text (`shippedProviderSource`), whose `handler()` returns a factory. */
    readonly source: string;
    /** The key holding the one string the factory is called with (a kubeconfig). */
    readonly argument: string;
}

/**
 * The `__provider` text of a dynamic resource whose provider is configured once per provider resource rather than
 * carried by every resource: a few hundred characters, the same for every resource of its kind.
 *
 * The host keeps one provider per distinct text and process and calls its `configure` once, with the configuration of
 * the provider resource the engine started that process for (`cmd/dynamic-provider`: `getProvider`, `Config`). So
 * the runtime's source and the connection live once in that provider resource's state, and the engine hands them to
 * each process it starts. Keys hold a colon, so `Config.get` takes them as written instead of under the project's
 * name. A method called before `configure` fails naming the keys rather than reaching a cluster.
 */
export function configuredProviderStub(keys: ConfiguredProviderKeys): string {
    const source = JSON.stringify(keys.source);
    const argument = JSON.stringify(keys.argument);
    // One line, no comments: every resource stores this text twice (inputs and outputs), so its length counts.
    const methods = [
        "check:(o,n)=>p().check(o,n)",
        "diff:(i,o,n)=>p().diff(i,o,n)",
        "create:(n)=>p().create(n)",
        "read:(i,s)=>p().read(i,s)",
        "update:(i,o,n)=>p().update(i,o,n)",
        "delete:(i,s)=>p().delete(i,s)",
    ];
    return [
        "exports.handler=function(){const c={};",
        `const p=()=>{if(c.v===undefined)throw new Error("this provider was not configured with "+${source}+" and "+${argument});return c.v;};`,
        "return{configure:async(r)=>{const m={exports:{}};",
        `new Function("module","exports","require",r.config.require(${source}))(m,m.exports,require);`,
        `c.v=m.exports.handler()(r.config.require(${argument}));},`,
        `${methods.join(",")}};};`,
    ].join("");
}
