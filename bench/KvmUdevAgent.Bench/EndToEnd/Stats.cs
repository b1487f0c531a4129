using System.Globalization;

namespace KvmUdevAgent.Bench.EndToEnd;

/// <summary>Order statistics over samples (nearest-rank percentiles).</summary>
internal static class Stats
{
    public static double Percentile(IReadOnlyList<double> samples, double p)
    {
        if (samples.Count == 0)
        {
            return double.NaN;
        }

        double[] sorted = [.. samples.Order()];
        int rank = (int)Math.Ceiling(p / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public static double Median(IReadOnlyList<double> samples) => Percentile(samples, 50);

    /// <summary>"median (min–max, n=N)".</summary>
    public static string Spread(IReadOnlyList<double> samples, string format)
    {
        if (samples.Count == 0)
        {
            return "n/a";
        }

        return string.Create(CultureInfo.InvariantCulture, $"{Median(samples).ToString(format, CultureInfo.InvariantCulture)} ({samples.Min().ToString(format, CultureInfo.InvariantCulture)}–{samples.Max().ToString(format, CultureInfo.InvariantCulture)}, n={samples.Count})");
    }

    public static string F(double value, string format = "F2") => value.ToString(format, CultureInfo.InvariantCulture);
}
