import type { GroupConfig, TopicConfig } from './meta-command.js';

/**
 * The node's view of topics and subscription groups: changed only by applied META commands (and
 * loaded from the MetaStore at startup), read by every service. Listeners hear about changes (the
 * NameServer registrar re-registers at once when topics change).
 */
export class TopicTable {
  private readonly topicsByName = new Map<string, TopicConfig>();
  private readonly groupsByName = new Map<string, GroupConfig>();
  private readonly listeners: Array<() => void> = [];
  private readonly deleteListeners: Array<(kind: 'topic' | 'group', name: string) => void> = [];

  topic(name: string): TopicConfig | undefined {
    return this.topicsByName.get(name);
  }

  group(name: string): GroupConfig | undefined {
    return this.groupsByName.get(name);
  }

  topics(): TopicConfig[] {
    return [...this.topicsByName.values()];
  }

  groups(): GroupConfig[] {
    return [...this.groupsByName.values()];
  }

  putTopic(topic: TopicConfig): void {
    this.topicsByName.set(topic.name, topic);
    for (const listener of this.listeners) listener();
  }

  putGroup(group: GroupConfig): void {
    this.groupsByName.set(group.name, group);
  }

  deleteTopic(name: string): void {
    if (!this.topicsByName.delete(name)) return;
    for (const listener of this.listeners) listener();
    for (const listener of this.deleteListeners) listener('topic', name);
  }

  deleteGroup(name: string): void {
    if (!this.groupsByName.delete(name)) return;
    for (const listener of this.deleteListeners) listener('group', name);
  }

  /** Called after a topic or group is deleted (metrics drop its series). */
  onDeleted(listener: (kind: 'topic' | 'group', name: string) => void): void {
    this.deleteListeners.push(listener);
  }

  /** Called after every topic change. */
  onTopicsChanged(listener: () => void): void {
    this.listeners.push(listener);
  }
}
