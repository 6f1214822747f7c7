using System.Collections.Concurrent;

namespace VectorPipeline.Ingest.Sync;

/// <summary>One sync source as <c>GET /status</c> shows it (this Ingest.Api process's view).</summary>
/// <param name="Name">The source's name (<c>Sync:Sources:{name}</c>).</param>
/// <param name="Kind">Its kind, <c>postgres</c> or <c>mysql</c>.</param>
/// <param name="State">
/// <c>pending</c> (no pass yet), <c>ok</c> (the last pass finished), <c>failed</c> (the last pass failed; the next
/// retries from the recorded mark) or <c>standby</c> (another Ingest.Api replica syncs this source).
/// </param>
/// <param name="LastPassAt">When the last pass ended, UTC; null before the first.</param>
/// <param name="LastSuccessAt">When the last pass that finished ended, UTC; null before the first.</param>
/// <param name="LastError">
/// Why the last pass failed: the message for a table or column that does not fit the source (naming it), else the
/// exception's type (the message, which may name a server's address, goes to the log); null unless <c>failed</c>.
/// </param>
public sealed record SyncSourceStatus(string Name, string Kind, string State, DateTimeOffset? LastPassAt, DateTimeOffset? LastSuccessAt, string? LastError);

/// <summary>The state of every configured sync source in this process, written by <see cref="TableSyncService"/>, read by <c>GET /status</c>.</summary>
public sealed class SyncStatusBoard
{
    private readonly ConcurrentDictionary<string, SyncSourceStatus> _sources = new(StringComparer.Ordinal);

    /// <summary>Every source, by name.</summary>
    public IReadOnlyList<SyncSourceStatus> List() => _sources.Values.OrderBy(s => s.Name, StringComparer.Ordinal).ToList();

    /// <summary>Adds a source as <c>pending</c> (no-op when it is there).</summary>
    public void Register(string name, string kind) => _sources.TryAdd(name, new SyncSourceStatus(name, kind, "pending", null, null, null));

    /// <summary>Records a pass that finished (<c>ok</c>) or found another replica syncing (<c>standby</c>).</summary>
    public void Finished(string name, bool ran)
    {
        var now = DateTimeOffset.UtcNow;
        _sources.AddOrUpdate(name, _ => new SyncSourceStatus(name, "", ran ? "ok" : "standby", now, ran ? now : null, null),
            (_, old) => old with { State = ran ? "ok" : "standby", LastPassAt = now, LastSuccessAt = ran ? now : old.LastSuccessAt, LastError = null });
    }

    /// <summary>Records a pass that failed (<c>failed</c>) with its error.</summary>
    public void Failed(string name, Exception exception)
    {
        var now = DateTimeOffset.UtcNow;
        var error = exception is SyncSourceException ? exception.Message : $"{exception.GetType().Name} (see Ingest.Api's log)";
        _sources.AddOrUpdate(name, _ => new SyncSourceStatus(name, "", "failed", now, null, error),
            (_, old) => old with { State = "failed", LastPassAt = now, LastError = error });
    }
}
