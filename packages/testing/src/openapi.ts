/** The documented routes of a running server, read from its `/openapi.json`. */

export interface OpenApiRoute {
  method: string;
  /** OpenAPI path template, e.g. `/api/orgs/{orgId}/members/{userId}`. */
  path: string;
}

/** Every documented route (method + OpenAPI path) from `/openapi.json`. */
export async function openApiRoutes(baseUrl: string): Promise<OpenApiRoute[]> {
  const res = await fetch(`${baseUrl}/openapi.json`);
  const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
  const methods = new Set(['get', 'post', 'put', 'patch', 'delete']);
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops)
      .filter((m) => methods.has(m))
      .map((m) => ({ method: m.toUpperCase(), path })),
  );
}

/** Fills an OpenAPI path template: `fill('/a/{orgId}', { orgId })`. @throws when a parameter has no value */
export function fillPath(template: string, params: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`no value for {${name}} in ${template}`);
    return encodeURIComponent(v);
  });
}
