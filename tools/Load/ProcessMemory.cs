using System.Globalization;

namespace VectorPipeline.Tools.Load;

/// <summary>Memory of a process and its descendants, from <c>/proc</c> (Linux).</summary>
public static class ProcessMemory
{
    /// <summary>
    /// The proportional set size (PSS, <c>/proc/{pid}/smaps_rollup</c>) of <paramref name="pid"/> and every descendant,
    /// MiB: pages shared between them (PostgreSQL's shared buffers) count once in all, not once per backend. 0 when
    /// the process is gone.
    /// </summary>
    public static double TreePssMiB(int pid)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var id))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
                var parent = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
                (children.TryGetValue(parent, out var list) ? list : children[parent] = []).Add(id);
            }
            catch (IOException)
            {
                // Exited while being read.
            }
        }

        double total = 0;
        var pending = new Stack<int>([pid]);
        while (pending.TryPop(out var current))
        {
            total += PssKiB(current) / 1024.0;
            foreach (var child in children.GetValueOrDefault(current) ?? [])
            {
                pending.Push(child);
            }
        }

        return total;
    }

    private static long PssKiB(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
            {
                if (line.StartsWith("Pss:", StringComparison.Ordinal))
                {
                    return long.Parse(line[4..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        return 0;
    }
}
