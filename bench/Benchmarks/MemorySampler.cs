using System.Globalization;

namespace VectorPipeline.Benchmarks;

/// <summary>Peak and current resident set size of a process, from <c>/proc/{pid}/status</c> (<c>VmHWM</c>, <c>VmRSS</c>).</summary>
public static class MemorySampler
{
    /// <summary>Peak RSS (VmHWM) in MiB, or null when the process is gone.</summary>
    public static double? PeakRssMiB(int pid) => Read(pid, "VmHWM:");

    /// <summary>Current RSS (VmRSS) in MiB, or null when the process is gone.</summary>
    public static double? RssMiB(int pid) => Read(pid, "VmRSS:");

    private static double? Read(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    var kb = long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                    return kb / 1024.0;
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }
}
