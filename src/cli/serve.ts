/** `skycache dashboard`: served by the dashboard integration once it lands. */
import type { CacheConfigInput } from '../config/types.js';
import { OperationFailed } from './context.js';
import type { CommandInput } from './entries.js';

export function serveDashboard(
  _input: CommandInput,
  _config: Record<string, CacheConfigInput>,
): Promise<number> {
  return Promise.reject(new OperationFailed('the dashboard is not available in this build yet'));
}
