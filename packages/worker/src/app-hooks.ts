// Module resolution hook, registered only for applications that cannot resolve `aerys-cluster`
// themselves (an application outside this repository, without the package installed): the
// specifier then resolves to the running server's own package, so `readBody` and `stream` work
// wherever the application lives.

interface ResolveContext {
  conditions: string[];
  importAttributes: Record<string, string>;
  parentURL?: string;
}

interface ResolveResult {
  url: string;
  format?: string | null;
  shortCircuit?: boolean;
}

type NextResolve = (specifier: string, context: ResolveContext) => Promise<ResolveResult>;

let packageUrl: string | null = null;

/** Receives the URL of the server package's entry module from `module.register`. */
export function initialize(data: { packageUrl: string }): void {
  packageUrl = data.packageUrl;
}

export async function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve): Promise<ResolveResult> {
  if (specifier === 'aerys-cluster' && packageUrl !== null) return { url: packageUrl, shortCircuit: true };
  return nextResolve(specifier, context);
}
