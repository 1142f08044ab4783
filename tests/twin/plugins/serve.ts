/**
 * Serves a twin provider to the Pulumi engine through `@pulumi/pulumi/provider`'s `main`, with the gRPC calls that
 * SDK server leaves out filled in: its `Configure` throws the provider configuration away, `CheckConfig` and
 * `DiffConfig` answer UNIMPLEMENTED, and its `Diff` drops the old inputs the engine sends.
 *
 * What it imitates, and where that was read:
 * - The SDK's server: pulumi/pulumi `sdk/nodejs/provider/server.ts` (`configure` only answers `acceptSecrets`,
 *   `acceptResources`, `acceptOutputs`; `checkConfig`/`diffConfig` UNIMPLEMENTED; `diff` passes `olds`, the old
 *   outputs, and never `oldInputs`). It registers its implementation with `@grpc/grpc-js`'s `Server.addService`,
 *   which looks each method up by name on the object: so the glue hands `addService` an object that inherits the
 *   SDK's methods and overrides those four.
 * - What the engine does with them: pulumi/pulumi `sdk/go/common/resource/plugin/provider_plugin.go`. `CheckConfig`
 *   UNIMPLEMENTED is taken as "news are fine" and `DiffConfig` UNIMPLEMENTED as "changed, never replace the provider",
 *   so both could stay unimplemented; they are implemented so a missing tenant fails at the provider's registration
 *   with the key named, and an unchanged provider reports no change. An implemented `CheckConfig` must return the
 *   inputs (the engine keeps only what it returns). `Configure` gets `Variables` (`<pkg>:config:<key>`, secrets
 *   unwrapped) and `Args` (secrets wrapped); it runs asynchronously in the engine and a failure fails every later
 *   call with the error's text. No `supportsPreview`: the engine then never calls Create or Update in a preview.
 */
import * as path from "node:path";
import { main } from "@pulumi/pulumi/provider";
import type * as grpcModule from "@grpc/grpc-js";
import type { TwinDiffResult, TwinProvider } from "./framework";
import type { PropertyMap } from "./values";

/** The few protobuf shapes the glue touches (the SDK's generated code has no types). */
interface Struct {
    toJavaScript(): PropertyMap;
}
interface StructClass {
    fromJavaScript(value: PropertyMap): Struct;
}
interface ConfigureRequest {
    getArgs(): Struct | undefined;
    getVariablesMap(): { entries(): Iterable<[string, string]> };
}
interface CheckRequest {
    getUrn(): string;
    getOlds(): Struct | undefined;
    getNews(): Struct | undefined;
}
interface DiffRequest extends CheckRequest {
    getId(): string;
    getOldInputs(): Struct | undefined;
}
interface ReadRequest {
    getId(): string;
    getUrn(): string;
    getProperties(): Struct | undefined;
    getInputs(): Struct | undefined;
}
interface Message {
    [setter: string]: (value: never) => void;
}
interface ProviderProto {
    ConfigureResponse: new () => Message;
    CheckResponse: new () => Message;
    CheckFailure: new () => Message;
    DiffResponse: (new () => Message) & { DiffChanges: { DIFF_NONE: number; DIFF_SOME: number } };
    ReadResponse: new () => Message;
}
type Callback = (error: Error | null | undefined, response?: unknown) => void;
type Handler = (call: { request: unknown }, callback: Callback) => void;

// The SDK's own copies of grpc-js and google-protobuf: `addService` must be patched on the class its server uses.
const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const grpc = require(require.resolve("@grpc/grpc-js", { paths: [pulumiDir] })) as typeof grpcModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const structProto = require(require.resolve("google-protobuf/google/protobuf/struct_pb", { paths: [pulumiDir] })) as {
    Struct: StructClass;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const providerProto = require("@pulumi/pulumi/proto/provider_pb") as ProviderProto;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const providerGrpc = require("@pulumi/pulumi/proto/provider_grpc_pb") as { ResourceProviderService: object };

const toJs = (struct: Struct | undefined): PropertyMap => struct?.toJavaScript() ?? {};

function set(message: Message, setter: string, value: unknown): void {
    message[setter](value as never);
}

function rpcError(error: unknown): Error {
    const message = error instanceof Error ? error.message : String(error);
    return Object.assign(new Error(message), { code: grpc.status.UNKNOWN, details: message });
}

function answer<T>(work: Promise<T>, respond: (result: T) => unknown, callback: Callback): void {
    work.then(
        (result) => callback(null, respond(result)),
        (error: unknown) => callback(rpcError(error)),
    );
}

function diffResponse(result: TwinDiffResult): Message {
    const response = new providerProto.DiffResponse();
    const changes = providerProto.DiffResponse.DiffChanges;
    set(response, "setChanges", result.changes ? changes.DIFF_SOME : changes.DIFF_NONE);
    set(response, "setReplacesList", [...(result.replaces ?? [])]);
    set(response, "setDiffsList", [...result.diffs]);
    set(response, "setDeletebeforereplace", result.deleteBeforeReplace === true);
    return response;
}

/** The methods the SDK's server gets wrong for the twin (it drops the provider config and the old inputs), as gRPC handlers. */
function twinHandlers(provider: TwinProvider): Record<string, Handler> {
    return {
        configure(call, callback) {
            const request = call.request as ConfigureRequest;
            const variables = Object.fromEntries([...request.getVariablesMap().entries()]);
            const args = { ...variables, ...toJs(request.getArgs()) };
            answer(
                provider.configure(args),
                () => {
                    const response = new providerProto.ConfigureResponse();
                    set(response, "setAcceptsecrets", true);
                    set(response, "setAcceptresources", true);
                    set(response, "setAcceptoutputs", true);
                    return response;
                },
                callback,
            );
        },
        checkConfig(call, callback) {
            const request = call.request as CheckRequest;
            const news = toJs(request.getNews());
            answer(
                provider.checkConfig(request.getUrn(), toJs(request.getOlds()), news),
                (result) => {
                    const response = new providerProto.CheckResponse();
                    set(response, "setInputs", structProto.Struct.fromJavaScript((result.inputs as PropertyMap | undefined) ?? news));
                    set(
                        response,
                        "setFailuresList",
                        (result.failures ?? []).map((failure) => {
                            const message = new providerProto.CheckFailure();
                            set(message, "setProperty", failure.property);
                            set(message, "setReason", failure.reason);
                            return message;
                        }),
                    );
                    return response;
                },
                callback,
            );
        },
        diffConfig(call, callback) {
            const request = call.request as DiffRequest;
            const oldInputs = toJs(request.getOldInputs());
            const olds = Object.keys(oldInputs).length > 0 ? oldInputs : toJs(request.getOlds());
            answer(provider.diffConfig(request.getUrn(), olds, toJs(request.getNews())), diffResponse, callback);
        },
        read(call, callback) {
            // A refresh sends the last deployment's inputs too; the SDK's server drops them (see framework.ts read).
            const request = call.request as ReadRequest;
            answer(
                provider.read(request.getId(), request.getUrn(), toJs(request.getProperties()), toJs(request.getInputs())),
                (result) => {
                    const response = new providerProto.ReadResponse();
                    set(response, "setId", result.id ?? "");
                    set(response, "setProperties", structProto.Struct.fromJavaScript((result.props as PropertyMap | undefined) ?? {}));
                    if (result.inputs !== undefined)
                        set(response, "setInputs", structProto.Struct.fromJavaScript(result.inputs as PropertyMap));
                    return response;
                },
                callback,
            );
        },
        diff(call, callback) {
            const request = call.request as DiffRequest;
            answer(
                provider.diff(
                    request.getId(),
                    request.getUrn(),
                    toJs(request.getOlds()),
                    toJs(request.getNews()),
                    toJs(request.getOldInputs()),
                ),
                diffResponse,
                callback,
            );
        },
    };
}

let patched: TwinProvider | undefined;

/** Makes the next `addService` of the provider service use the twin's handlers on top of the SDK's. */
function patchAddService(provider: TwinProvider): void {
    if (patched !== undefined) throw new Error("One twin provider per plugin process");
    patched = provider;
    // Always called with `.call(this, ...)` below, on the server it was taken from.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const original = grpc.Server.prototype.addService;
    grpc.Server.prototype.addService = function (this: grpcModule.Server, service, implementation) {
        if (service !== providerGrpc.ResourceProviderService) return original.call(this, service, implementation);
        // Inherits the SDK server's methods and state; the four overrides are found first by name.
        const combined = Object.assign(Object.create(implementation) as object, twinHandlers(provider));
        return original.call(this, service, combined as grpcModule.UntypedServiceImplementation);
    };
}

/** Serves `provider` as a plugin process: prints the port the engine connects to, then answers until killed. */
export function serve(provider: TwinProvider, args: readonly string[]): Promise<void> {
    patchAddService(provider);
    return main(provider, [...args]);
}
