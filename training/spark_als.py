"""Train ALS with Apache Spark MLlib (``recsys-tui train --engine spark``) into the usual artifacts.

The project builds the training matrix exactly as for the ``implicit`` backend (same vocabularies,
same rating → confidence weighting, logged ratings weighted by recency), writes it to Parquet, and
Spark's ``pyspark.ml.recommendation.ALS`` (implicit preferences) learns the item factors from that
file. User vectors are then the project's own exact ALS user step against Spark's item factors,
so a stored user vector *is* that user's fold-in and the engine, fold-in, reasons and app work
unchanged. Where Spark's model differs from implicit's (docs/METHOD.md):

* Spark's confidence is ``1 + alpha·|r|`` with preference ``r > 0``: the project writes
  ``r = c − 1`` with ``alpha = 1`` so Spark's confidence equals implicit's ``c`` for every
  positive ``c ≥ 1``; positive confidences below 1 (rare: very heavy raters) are raised to
  ``1 + 1e-3``; a dislike of weight ``w`` is written as ``−(w − 1)``, and one of weight 1 (the
  default: "counts as unrated") is left out, which is what it means to implicit too.
* Spark scales the L2 penalty by each row's number of positive entries (ALS-WR); implicit uses
  one λ. The project passes ``regParam = λ / n̄`` with n̄ = Σ n_u² / Σ n_u, the positive count of
  the user an average entry belongs to (``spark_reg_param``; 0.48 on ML-100K). Measured on the
  ML-100K stratified split, seed 42, against implicit's P@10 0.429: regParam 0.03 → 0.383,
  0.1 → 0.392, 0.3 → 0.415, 0.48 → 0.427, 1.1 → 0.380.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from recsys_tui.common.errors import RecsysError
from recsys_tui.data.movielens import Interactions
from recsys_tui.data.vocab import IdMap
from recsys_tui.models.als import ALSRecommender
from recsys_tui.models.bundle import TrainedModel, build_matrix

DEFAULT_MASTER = "local[*]"
MIN_EXCESS = 1e-3
SPARK_SETUP = "pip install -e '.[spark]' and a Java 17 runtime (apt install openjdk-17-jre-headless)"


class SparkUnavailable(RecsysError):
    """pyspark or Java is missing, or Spark could not start or train."""


def java_binary() -> str | None:
    """``$JAVA_HOME/bin/java`` if set and present, else ``java`` on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and Path(home, "bin", "java").is_file():
        return str(Path(home, "bin", "java"))
    return shutil.which("java")


def check_spark() -> None:
    """Raise ``SparkUnavailable`` (one line) unless pyspark imports and Java is installed."""
    import importlib.util

    if importlib.util.find_spec("pyspark") is None:
        raise SparkUnavailable(f"--engine spark needs pyspark: {SPARK_SETUP}")
    if java_binary() is None:
        raise SparkUnavailable(f"--engine spark needs Java (none on PATH or in JAVA_HOME): {SPARK_SETUP}")


def spark_ratings(conf_data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(keep mask, Spark rating) for implicit-style signed confidences (see the module doc)."""
    conf = np.asarray(conf_data, dtype=np.float64)
    keep = (conf > 0) | (conf < -1.0)
    rating = np.where(conf > 0, np.maximum(conf - 1.0, MIN_EXCESS), -(np.abs(conf) - 1.0))
    return keep, rating[keep].astype(np.float32)


def write_parquet(path: Path, conf) -> int:
    """The weighted training matrix as Parquet rows (user int32, item int32, rating float32)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    coo = conf.tocoo()
    keep, rating = spark_ratings(coo.data)
    table = pa.table({"user": coo.row[keep].astype(np.int32), "item": coo.col[keep].astype(np.int32),
                      "rating": rating})
    pq.write_table(table, path)
    return table.num_rows


BLAS_CHOICES = ("auto", "java")


def java_options(blas: str, master: str = DEFAULT_MASTER) -> str:
    """JVM flags for the driver (and executors): ``java`` forbids netlib's native BLAS/LAPACK so
    MLlib runs on its Java fallback (VectorBLAS on Java 17 with the vector module, else F2J);
    ``auto`` lets netlib load the system ``libblas.so.3``/``liblapack.so.3`` when there is one.
    In local mode with that native BLAS the JIT stops at C1: the arithmetic is native, and C2
    compiling Spark's scheduling and shuffle code cost more CPU than it saved (docs/METHOD.md §13;
    VectorBLAS needs C2, so not without it). ``$RECSYS_TUI_SPARK_JAVA_OPTIONS`` is appended as
    given (GC or JIT flags, say)."""
    if blas not in BLAS_CHOICES:
        raise RecsysError(f"unknown Spark BLAS {blas!r} (choose from {', '.join(BLAS_CHOICES)})")
    opts = ["--add-modules=jdk.incubator.vector"]
    extra = os.environ.get("RECSYS_TUI_SPARK_JAVA_OPTIONS", "").strip()  # more JVM flags, as given
    if blas == "java":
        opts += ["-Ddev.ludovic.netlib.blas.allowNative=false",
                 "-Ddev.ludovic.netlib.lapack.allowNative=false"]
    elif master.startswith("local") and native_blas_present() and "Tiered" not in extra:
        opts.append("-XX:TieredStopAtLevel=1")
    return " ".join(opts + ([extra] if extra else []))


def native_blas_present() -> bool:
    """Whether this machine's loader knows a ``libblas.so.3`` (what netlib's JNI BLAS opens)."""
    import ctypes.util

    return ctypes.util.find_library("blas") is not None


def _session(master: str, workdir: Path, blas: str = "auto", blocks: int = 2):
    from pyspark.sql import SparkSession

    opts = java_options(blas, master)
    builder = (SparkSession.builder.master(master).appName("recsys-tui-als")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               # ALS shuffles its rating and factor blocks: one partition per block, not Spark's 200
               .config("spark.sql.shuffle.partitions", str(blocks))
               .config("spark.default.parallelism", str(blocks))
               # the JVM flags only take effect if set before the JVM starts (here: getOrCreate)
               .config("spark.driver.extraJavaOptions", opts)
               .config("spark.executor.extraJavaOptions", opts)
               .config("spark.driver.memory", os.environ.get("RECSYS_TUI_SPARK_DRIVER_MEMORY", "4g")))
    if master.startswith("local"):
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress",
                                                                          "127.0.0.1")
    # A multi-threaded OpenBLAS behind netlib would start its own threads inside each Spark task
    # thread; one BLAS thread per task (the JVM inherits this environment in local mode).
    saved = os.environ.get("OPENBLAS_NUM_THREADS")
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        spark = builder.getOrCreate()
    finally:
        if saved is None:
            os.environ.pop("OPENBLAS_NUM_THREADS", None)
        else:
            os.environ["OPENBLAS_NUM_THREADS"] = saved
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.setCheckpointDir(str(workdir / "checkpoints"))
    return spark


def blas_in_use(spark) -> str:
    """Which BLAS MLlib's ALS normal equations run on, as seen by the driver JVM: their ``dspr``
    goes through ``ml.linalg.BLAS.nativeBLAS``, netlib's native BLAS if it loads, else its Java
    one, the same choice as ``dev.ludovic.netlib.blas.BLAS.getInstance``; for the native one, the
    library the system's ``libblas.so.3`` resolves to."""
    jvm = spark.sparkContext._jvm
    name = str(jvm.dev.ludovic.netlib.blas.BLAS.getInstance().getClass().getSimpleName())
    if name == "JNIBLAS":
        libs = sorted(glob.glob("/usr/lib/*/libblas.so.3") + glob.glob("/usr/lib/libblas.so.3"))
        return f"native ({os.path.realpath(libs[0])})" if libs else "native (libblas.so.3)"
    return f"java ({name})"


def spark_reg_param(conf, regularization: float) -> float:
    """Spark's ``regParam`` for implicit's λ: λ / n̄, where n̄ is the number of positive entries of
    the user an average entry belongs to (Σ n_u² / Σ n_u), so the users who carry most of the data
    are penalised as implicit penalises every user."""
    positive = conf.data > 0
    total = max(int(positive.sum()), 1)
    n_user = np.bincount(conf.tocoo().row[positive], minlength=conf.shape[0]).astype(np.float64)
    return regularization / max(float(n_user @ n_user) / total, 1.0)


def num_blocks(n_rows: int, master: str) -> int:
    """ALS user/item blocks: one per core in local mode (each block is a task; more only add
    shuffle and per-block overhead on one machine), at least one per 2M ratings (memory per block,
    and the blocks a cluster spreads over its executors)."""
    cores = _local_cores(master)
    return max(cores or 2, min(64, -(-n_rows // 2_000_000)))


def _local_cores(master: str) -> int | None:
    if not master.startswith("local"):
        return None
    inside = master[master.find("[") + 1:master.find("]")] if "[" in master else "1"
    inside = inside.split(",")[0]
    if inside == "*":
        return os.cpu_count() or 1
    return int(inside) if inside.isdigit() else None


def _item_factors(model, n_items: int, factors: int) -> np.ndarray:
    """Spark's item factors as one array, collected as Arrow columns (not a Python loop over Rows)."""
    import pyarrow.compute as pc

    out = np.zeros((n_items, factors), np.float32)
    table = model.itemFactors.toArrow()
    if table.num_rows:
        ids = table.column("id").to_numpy().astype(np.int64)
        flat = pc.list_flatten(table.column("features")).to_numpy()
        out[ids] = flat.reshape(len(ids), factors).astype(np.float32)
    return out


def fit_spark(inter: Interactions, item_ids: np.ndarray, params: dict, recency_of=None,
              master: str = DEFAULT_MASTER, timings: dict | None = None,
              reg_param: float | None = None, info: dict | None = None,
              blas: str | None = None, blocks: int | None = None) -> TrainedModel:
    """Fit ALS on ``inter`` with Spark; ``recency_of(train, users, items)`` gives per-entry recency.

    ``timings`` gets the parts in seconds (Parquet write, Spark start, ALS fit, factor collect, user
    solve); ``info`` gets the BLAS MLlib ran on and the block count. ``blas`` is ``auto`` (native
    ``libblas.so.3`` if the system has one, else Java; default, or ``$RECSYS_TUI_SPARK_BLAS``) or
    ``java``; it applies only when this call starts the JVM."""
    check_spark()
    blas = blas or os.environ.get("RECSYS_TUI_SPARK_BLAS", "auto")
    java_options(blas, master)  # an unknown choice is one line before any work
    users, items = IdMap.from_ids(inter.user_ids), IdMap.from_ids(item_ids)
    train = build_matrix(inter, users, items)
    recency = recency_of(train, users, items) if recency_of is not None else None
    model = ALSRecommender(**params)
    p = model.params
    model.weighting.fit(train)
    conf = model.weighting.matrix(train, recency)
    reg = reg_param if reg_param is not None else spark_reg_param(conf, float(p["regularization"]))
    timings = timings if timings is not None else {}
    info = info if info is not None else {}
    with tempfile.TemporaryDirectory(prefix="recsys-tui-spark-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        n_rows = write_parquet(work / "ratings.parquet", conf)
        timings["parquet_s"] = time.perf_counter() - t0
        n_blocks = blocks or num_blocks(n_rows, master)
        t1 = time.perf_counter()
        try:
            from pyspark.ml.recommendation import ALS

            spark = _session(master, work, blas, n_blocks)
            info["blas"] = blas_in_use(spark)
        except Exception as exc:  # Java gateway or cluster failures come in many types
            raise SparkUnavailable(f"Spark could not start on {master}: {_first_line(exc)}") from None
        timings["spark_start_s"] = time.perf_counter() - t1
        info["blocks"] = n_blocks
        try:
            t2 = time.perf_counter()
            cpu0 = _jvm_cpu_s(spark, master)
            frame = spark.read.parquet(str(work / "ratings.parquet"))
            als = ALS(rank=int(p["factors"]), maxIter=int(p["iterations"]), regParam=reg, alpha=1.0,
                      implicitPrefs=True, userCol="user", itemCol="item", ratingCol="rating",
                      nonnegative=False, seed=int(p["random_state"]), checkpointInterval=10,
                      numUserBlocks=n_blocks, numItemBlocks=n_blocks)
            fitted = als.fit(frame)
            t3 = time.perf_counter()
            timings["als_fit_s"] = t3 - t2
            cpu1 = _jvm_cpu_s(spark, master)
            if cpu0 is not None and cpu1 is not None:
                timings["als_fit_cpu_s"] = cpu1 - cpu0
            model.item_factors = _item_factors(fitted, len(items), int(p["factors"]))
            timings["collect_s"] = time.perf_counter() - t3
            timings["spark_fit_s"] = time.perf_counter() - t2
        except Exception as exc:  # a Py4J/Java error from the cluster: one line, nothing published
            raise SparkUnavailable(f"Spark ALS failed on {master}: {_first_line(exc)}") from None
        finally:
            spark.stop()
    model.n_items = len(items)
    model._gram = None
    t4 = time.perf_counter()
    model.user_factors = model.fold_in_rows(train, recency)
    timings["user_solve_s"] = time.perf_counter() - t4
    popularity = np.bincount(train.indices, minlength=len(items)).astype(np.float32)
    return TrainedModel(model, users, items, train, popularity)


def _jvm_cpu_s(spark, master: str) -> float | None:
    """CPU seconds the driver JVM has used (all its threads; in local mode the whole of Spark's
    work), a measure of the fit that a busy shared machine disturbs less than wall time."""
    if not master.startswith("local"):
        return None
    try:
        duration = spark.sparkContext._jvm.java.lang.ProcessHandle.current().info().totalCpuDuration()
        return float(duration.get().toNanos()) / 1e9 if duration.isPresent() else None
    except Exception:  # no CPU figure from this JVM; the wall time still stands
        return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
