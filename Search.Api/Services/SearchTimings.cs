using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace VectorPipeline.Search.Services;

/// <summary>
/// Wall time of each phase of one search, in milliseconds, for the response's <c>Server-Timing</c> header
/// (W3C Server Timing, https://www.w3.org/TR/server-timing/): <c>model</c> (finding the model to search),
/// <c>embed</c> (the query embedding), <c>vector</c> (the vector SQL), <c>keyword</c> (the full-text SQL). A phase
/// that did not run is absent. Lets a caller tell which part of a slow search was slow without a trace backend.
/// One instance per request; phases that overlap (the model lookup and the query embedding) may record concurrently.
/// </summary>
public sealed class SearchTimings
{
    /// <summary>The <c>Server-Timing</c> response header.</summary>
    public const string HeaderName = "Server-Timing";

    private readonly List<(string Name, double Milliseconds)> _phases = new(4);

    /// <summary>The phases measured so far, in the order they ended (a phase run twice appears twice).</summary>
    public IReadOnlyList<(string Name, double Milliseconds)> Phases
    {
        get
        {
            lock (_phases)
            {
                return [.. _phases];
            }
        }
    }

    /// <summary>Runs <paramref name="phase"/> and records its wall time under <paramref name="name"/>, also when it throws.</summary>
    /// <typeparam name="T">What the phase returns.</typeparam>
    public async Task<T> MeasureAsync<T>(string name, Func<Task<T>> phase)
    {
        ArgumentNullException.ThrowIfNull(phase);
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await phase();
        }
        finally
        {
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            lock (_phases)
            {
                _phases.Add((name, elapsed));
            }
        }
    }

    /// <summary>The header value: <c>model;dur=0.41, embed;dur=11.20, vector;dur=3.05</c> (durations in ms, two decimals).</summary>
    public string ToHeaderValue()
    {
        var value = new StringBuilder();
        foreach (var (name, milliseconds) in Phases)
        {
            if (value.Length > 0)
            {
                value.Append(", ");
            }

            value.Append(name).Append(";dur=").Append(milliseconds.ToString("0.00", CultureInfo.InvariantCulture));
        }

        return value.ToString();
    }
}
