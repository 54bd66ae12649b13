using System.Globalization;

namespace Workbench.Bench;

/// <summary>Linux process statistics the protocol reports: peak RSS (VmHWM), its reset, minor page faults.</summary>
static class ProcStats
{
    /// <summary>Resets VmHWM to the current RSS by writing "5" to /proc/self/clear_refs; false where not permitted.</summary>
    public static bool ResetPeakRss()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); return true; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>VmHWM in kB from /proc/self/status (0 where unavailable).</summary>
    public static long PeakRssKb() => StatusKb("VmHWM:");

    /// <summary>VmRSS in kB from /proc/self/status (0 where unavailable).</summary>
    public static long RssKb() => StatusKb("VmRSS:");

    static long StatusKb(string field)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(field, StringComparison.Ordinal))
                    return long.Parse(line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
        catch (IOException) { }
        return 0;
    }

    /// <summary>Minor page faults of the process so far: field 10 (minflt) of /proc/self/stat.</summary>
    public static long MinorFaults()
    {
        try
        {
            var stat = File.ReadAllText("/proc/self/stat");
            // the command name (field 2) is in parentheses and may contain spaces: count fields after the last ')'
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(rest[10 - 3], CultureInfo.InvariantCulture);
        }
        catch (IOException) { return 0; }
    }
}
