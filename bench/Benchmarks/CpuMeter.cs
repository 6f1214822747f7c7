using System.Globalization;
using System.Runtime.InteropServices;

namespace VectorPipeline.Benchmarks;

/// <summary>
/// CPU time of process trees, from <c>/proc/{pid}/stat</c> (proc(5)): user + system time of each process and of
/// each of its descendants, plus the time of descendants that exited and were waited for (<c>cutime</c>,
/// <c>cstime</c>: a PostgreSQL backend that closed, for example). Unlike wall-clock rates it does not move with how
/// much of a second core a machine lends; two readings around a run give the CPU the run cost.
/// </summary>
public static class CpuMeter
{
    private const int ClockTicksName = 2; // _SC_CLK_TCK

    private static readonly double TicksPerSecond = SysConf(ClockTicksName) is > 0 and var ticks ? ticks : 100;

    /// <summary>CPU seconds used so far by the trees rooted at <paramref name="roots"/> (each process counted once); 0 for roots that are gone.</summary>
    public static double Seconds(IEnumerable<int> roots)
    {
        var processes = Snapshot();
        var children = processes.Values.ToLookup(p => p.Parent);
        var seen = new HashSet<int>();
        var pending = new Stack<int>(roots);
        long ticks = 0;
        while (pending.TryPop(out var pid))
        {
            if (!seen.Add(pid) || !processes.TryGetValue(pid, out var process))
            {
                continue;
            }

            ticks += process.Ticks;
            foreach (var child in children[pid])
            {
                pending.Push(child.Id);
            }
        }

        return ticks / TicksPerSecond;
    }

    /// <summary>Readings of several named groups of trees at once.</summary>
    public static Dictionary<string, double> Seconds(IReadOnlyDictionary<string, int[]> groups) =>
        groups.ToDictionary(g => g.Key, g => Seconds(g.Value));

    /// <summary>Per group, the CPU seconds between two readings.</summary>
    public static Dictionary<string, double> Difference(IReadOnlyDictionary<string, double> before, IReadOnlyDictionary<string, double> after) =>
        after.ToDictionary(a => a.Key, a => Math.Round(a.Value - before.GetValueOrDefault(a.Key), 2));

    private static Dictionary<int, (int Id, int Parent, long Ticks)> Snapshot()
    {
        var processes = new Dictionary<int, (int, int, long)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                // After the command name in parentheses: state, ppid, ..., utime (14th field), stime, cutime, cstime.
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)
                    + long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
                processes[pid] = (pid, int.Parse(fields[1], CultureInfo.InvariantCulture), ticks);
            }
            catch (IOException)
            {
                // The process exited while we read.
            }
        }

        return processes;
    }

    [DllImport("libc", EntryPoint = "sysconf")]
    private static extern long SysConf(int name);
}
