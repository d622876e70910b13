// weapp-notify/templates: the types of lib/templates.js (the template registry). Types only.
import type { BuiltMessage, SubscribeBody, Template, buildSubscribeMessage } from '../index'

/** What the registry needs of a transport: a GET (httpTransport has one). */
export interface GetTransport {
  get(path: string): Promise<{ status: number; body?: string; json: any }>
}

/** The app's subscribe-message templates from getTemplateList, kept for `ttlMs`, for
 * buildSubscribeMessage to check a body against (and the worker's `templates` option).
 * @throws ERR_TEMPLATE_LIST (getTemplateList answered an errcode; `errcode` on the error),
 * ERR_TEMPLATE_UNKNOWN (no template of that id), ERR_INVALID_ARGUMENT (an option). */
export declare class TemplateRegistry {
  constructor(options: {
    transport: GetTransport
    /** A TokenKeeper: `failed(token)` is called after a token error, and the list asked once more. */
    tokens: { get(): Promise<string>; failed?(token: string): Promise<void> }
    /** How long a fetched list is used (default 3600000; 0: fetched on every call). */
    ttlMs?: number
    clock?: () => number
  })
  /** Every template the app has (those parseTemplate could read). */
  list(): Promise<Template[]>
  template(templateId: string): Promise<Template>
  /** buildSubscribeMessage with the template of `input.templateId`. */
  buildSubscribeMessage(
    input: Omit<Parameters<typeof buildSubscribeMessage>[0], 'template'>,
  ): Promise<BuiltMessage<SubscribeBody>>
  /** The next call fetches the list again. */
  invalidate(): void
}
