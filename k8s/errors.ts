import { NettopoError } from '../common/errors';

/** Base error of the Kubernetes watcher (`nettopo k8s-watch`). */
export class K8sError extends NettopoError {}

/**
 * The API server answered a request with an HTTP error or a watch `ERROR` event. `status` is the
 * HTTP status or the Status object's code (410: the resourceVersion is too old, re-list).
 */
export class KubeApiError extends K8sError {
  readonly status: number;

  constructor(status: number, message: string, options: { cause?: unknown } = {}) {
    // 410 Gone, 429 and 5xx are worth another try; 401/403/404 need someone to act.
    super(message, {
      retriable: status === 410 || status === 429 || status >= 500 || status === 0,
      ...options,
    });
    this.status = status;
  }
}
