// Stored package sources (migrations owner 'package-sources'): one row per package, replaced when the steward binds
// the package again. Each binding is audited by the service, so the audit chain keeps every past one.
import { timestampText, type Database } from '../core/database.ts';
import { PackageSource } from './package-source.ts';

const MIGRATIONS = [
  {
    id: '001-package-sources',
    sql: `CREATE TABLE package_sources (
    package_id VARCHAR PRIMARY KEY,
    view_name VARCHAR NOT NULL,
    fields VARCHAR NOT NULL,
    shrink_threshold DOUBLE NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by VARCHAR NOT NULL
  )`,
  },
];

export type PackageSourceStore = {
  put(source: PackageSource): Promise<void>;
  get(packageId: string): Promise<PackageSource | null>;
};

export async function openPackageSourceStore(db: Database): Promise<PackageSourceStore> {
  await db.migrate('package-sources', MIGRATIONS);
  return {
    async put(s) {
      await db.transaction(async (tx) => {
        await tx.run('DELETE FROM package_sources WHERE package_id = $1', [s.packageId]);
        await tx.run(
          `INSERT INTO package_sources (package_id, view_name, fields, shrink_threshold, updated_at, updated_by)
            VALUES ($1, $2, $3, $4, $5::TIMESTAMPTZ, $6)`,
          [s.packageId, s.view, JSON.stringify(s.fields), s.shrinkThreshold, s.updatedAt, s.updatedBy],
        );
      });
    },
    async get(packageId) {
      const [r] = await db.all('SELECT * FROM package_sources WHERE package_id = $1', [packageId]);
      if (r === undefined) return null;
      return PackageSource.parse({
        packageId: String(r.package_id),
        view: String(r.view_name),
        fields: JSON.parse(String(r.fields)),
        shrinkThreshold: Number(r.shrink_threshold),
        updatedAt: timestampText(r.updated_at),
        updatedBy: String(r.updated_by),
      });
    },
  };
}
