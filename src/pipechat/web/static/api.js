// REST access and the token pair: kept in sessionStorage so a reload stays logged in,
// with the access token refreshed shortly before it expires.

const STORE_KEY = "pipechat.tokens";

/** An error answer of the REST API: `{statusCode, message, error, code}`. */
export class ApiError extends Error {
  constructor(status, body) {
    super(errorText(body) || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
  }
}

/** The readable text of an error body or ack (`message` may be a list of field problems). */
export function errorText(body) {
  const message = body?.message;
  return Array.isArray(message) ? message.join("; ") : (message ?? "");
}

/** The claims of a JWT (not verified: only used to time refreshes). */
function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part));
  } catch {
    return {};
  }
}

const expiresAt = (token) => (claims(token).exp ?? 0) * 1000;

export class Session {
  /**
   * `onExpired(reason)` runs when the refresh token no longer works (the session ended);
   * `onRenewed(accessToken)` after each renewal, to hand the new token to the open socket.
   */
  constructor(onExpired, onRenewed) {
    this.onExpired = onExpired;
    this.onRenewed = onRenewed;
    this.tokens = JSON.parse(sessionStorage.getItem(STORE_KEY) ?? "null");
    this.timer = null;
    this.refreshing = null;
  }

  get loggedIn() { return Boolean(this.tokens); }
  get accessToken() { return this.tokens?.accessToken ?? ""; }

  save(tokens) {
    this.tokens = { ...this.tokens, ...tokens };
    sessionStorage.setItem(STORE_KEY, JSON.stringify(this.tokens));
    this.scheduleRefresh();
  }

  clear() {
    clearTimeout(this.timer);
    this.tokens = null;
    sessionStorage.removeItem(STORE_KEY);
  }

  async register(nickname, email, password) {
    this.save(await call("POST", "/auth/register/email", { json: { nickname, email, password } }));
  }

  async login(email, password) {
    const basic = btoa(String.fromCodePoint(...new TextEncoder().encode(`${email}:${password}`)));
    this.save(await call("POST", "/auth/login/email", { auth: `Basic ${basic}` }));
  }

  /** Forget the tokens and revoke the session on the server (which ends its sockets). */
  async logout() {
    const refreshToken = this.tokens?.refreshToken;
    this.clear();
    if (!refreshToken) return;
    // Best effort: a session that already ended, or a server out of reach, is logged out too.
    await call("POST", "/auth/logout", { auth: `Bearer ${refreshToken}` }).catch(() => {});
  }

  /** A new access token; concurrent callers share one request. */
  refreshAccess() {
    this.refreshing ??= this.doRefresh().finally(() => { this.refreshing = null; });
    return this.refreshing;
  }

  async doRefresh() {
    const auth = `Bearer ${this.tokens?.refreshToken}`;
    try {
      const fresh = await call("POST", "/auth/token/access", { auth });
      // Past half its life, trade the refresh token too, so an open page stays logged in.
      const { iat = 0, exp = 0 } = claims(this.tokens.refreshToken);
      if (Date.now() / 1000 > (iat + exp) / 2) {
        Object.assign(fresh, await call("POST", "/auth/token/refresh", { auth }));
      }
      this.save(fresh);
      this.onRenewed(fresh.accessToken);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        this.clear();
        this.onExpired(`Your session ended (${error.message}); please log in again.`);
      }
      throw error;
    }
  }

  /** Refresh a little before expiry: a fifth of the lifetime early, between 2 s and 60 s. */
  scheduleRefresh() {
    clearTimeout(this.timer);
    if (!this.tokens) return;
    const exp = expiresAt(this.tokens.accessToken);
    const lifetime = exp - Date.now();
    const margin = Math.min(60_000, Math.max(2_000, lifetime / 5));
    this.timer = setTimeout(() => this.refreshAccess().catch(() => {}),
      Math.max(0, lifetime - margin));
  }

  /** An authenticated request; one retry after refreshing when the access token expired. */
  async request(method, url, json) {
    try {
      return await call(method, url, { json, auth: `Bearer ${this.accessToken}` });
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== 111) throw error;
      await this.refreshAccess();
      return call(method, url, { json, auth: `Bearer ${this.accessToken}` });
    }
  }

  get(url) { return this.request("GET", url); }
}

/** `next` links are absolute; only their path and query are used, so the token stays here. */
function sameOrigin(url) {
  const parsed = new URL(url, location.origin);
  return parsed.pathname + parsed.search;
}

async function call(method, url, { json, auth } = {}) {
  const headers = { Accept: "application/json" };
  if (auth) headers.Authorization = auth;
  if (json !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(sameOrigin(url), {
    method, headers, body: json === undefined ? undefined : JSON.stringify(json),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}
