/**
 * Invalidation messages over Redis pub/sub: published on deletes; a subscriber connection is
 * opened only once someone listens. After the subscriber reconnects, messages may have been
 * missed: listeners are told so (`undefined`).
 */
import type { Logger } from '../../observability/log.js';
import { decodeInvalidation, encodeInvalidation, InvalidationListeners, type InvalidationListener } from '../invalidation.js';
import { isCluster, type RedisClient } from './connection.js';

export interface RedisInvalidation {
  /** Announces deleted session keys; a failure is logged, never thrown (the delete happened). */
  publish(keys: string[]): Promise<void>;
  listen(listener: InvalidationListener): void;
  /** The subscriber connection, once someone listens (the store closes it). */
  readonly subscriber: RedisClient | undefined;
}

export function redisInvalidation(client: RedisClient, channel: string, name: string, isClosed: () => boolean, logger: Logger): RedisInvalidation {
  const listeners = new InvalidationListeners(logger);
  let subscriber: RedisClient | undefined;
  const notify = (key: string | undefined) => listeners.notify(key);

  const subscribe = () => {
    const sub = isCluster(client) ? client.duplicate(undefined, { enableOfflineQueue: true }) : client.duplicate({ enableOfflineQueue: true });
    let missed = false;
    // ioredis re-subscribes after a reconnect only to channels whose SUBSCRIBE once succeeded; when
    // the first one failed (Redis down at start), subscribe again on every `ready` until one works.
    let subscription: 'none' | 'pending' | 'done' = 'none';
    const subscribeOnce = () => {
      subscription = 'pending';
      sub.subscribe(channel).then(
        () => (subscription = 'done'),
        (err: unknown) => {
          subscription = 'none';
          logger.warn({ store: name, error: String(err) }, 'session invalidation subscribe failed; retrying on reconnect');
        },
      );
    };
    sub.on('error', () => (missed = true));
    sub.on('close', () => (missed = true));
    sub.on('ready', () => {
      if (missed) notify(undefined);
      missed = false;
      if (subscription === 'none' && !isClosed()) subscribeOnce();
    });
    sub.on('message', (_channel: string, message: string) => {
      for (const key of decodeInvalidation(message)) notify(key);
    });
    subscribeOnce();
    return sub;
  };

  return {
    async publish(keys) {
      for (const message of encodeInvalidation(keys)) {
        try {
          await client.publish(channel, message);
        } catch (err) {
          logger.warn({ store: name, error: String(err) }, 'session invalidation not published');
        }
      }
    },
    listen(listener) {
      listeners.add(listener);
      if (subscriber === undefined && !isClosed()) subscriber = subscribe();
    },
    get subscriber() {
      return subscriber;
    },
  };
}
